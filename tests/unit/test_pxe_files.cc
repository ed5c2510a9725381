// pxe: the hosts dir and the TFTP root on a real (temporary) file system; the real process
// launcher on /bin/sh.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include "pxe/boot_files.h"
#include "pxe/hosts_directory.h"
#include "pxe/process.h"
#include "pxe/stale_process.h"
#include "test_util.h"

using namespace pxe;
using testutil::TempDir;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::string> names(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST_CASE("pxe: host entries appear whole under their MAC and go on removal") {
    TempDir tmp;
    HostsDirectory hosts(tmp / "hosts");
    REQUIRE(hosts.ensure());
    const base::Mac mac = *base::Mac::parse("52:54:00:12:34:56");
    REQUIRE(hosts.put({mac, "10.77.0.11", "h1"}));
    CHECK(names(hosts.dir()) == std::vector<std::string>{"52-54-00-12-34-56"});  // no temp left
    CHECK(slurp(hosts.entry_path(mac)) == "52:54:00:12:34:56,10.77.0.11,h1\n");
    CHECK((fs::status(hosts.entry_path(mac)).permissions() & fs::perms::others_read) !=
          fs::perms::none);
    REQUIRE(hosts.put({mac, "10.77.0.12", "h1"}));
    CHECK(slurp(hosts.entry_path(mac)) == "52:54:00:12:34:56,10.77.0.12,h1\n");

    auto bad = hosts.put({mac, "10.77.0.300", "h1"});
    CHECK(bad.message() == "host 52:54:00:12:34:56: host IP \"10.77.0.300\": not an IPv4 address");
    CHECK(slurp(hosts.entry_path(mac)) == "52:54:00:12:34:56,10.77.0.12,h1\n");

    bool reload = false;
    REQUIRE(hosts.remove(mac, &reload));
    CHECK(reload);
    CHECK(names(hosts.dir()).empty());
    REQUIRE(hosts.remove(mac, &reload));  // already gone: fine, nothing to reload
    CHECK_FALSE(reload);
}

TEST_CASE("pxe: boot files are copied from the ipxe package, or the package is named") {
    TempDir tmp;
    fs::create_directories(tmp / "ipxe");
    for (const char* name : {kBiosBootFile, kEfiIpxeFile, kEfiSnpFile})
        std::ofstream(tmp / "ipxe" / name) << "image of " << name;
    REQUIRE(install_boot_files(tmp / "tftp", tmp / "ipxe"));
    CHECK(names(tmp / "tftp") ==
          std::vector<std::string>{"ipxe.efi", "snponly.efi", "undionly.kpxe"});
    CHECK(slurp(tmp / "tftp" / "undionly.kpxe") == "image of undionly.kpxe");
    REQUIRE(install_boot_files(tmp / "tftp", tmp / "ipxe"));  // again: replaced in place

    fs::remove(tmp / "ipxe" / kEfiSnpFile);
    auto s = install_boot_files(tmp / "tftp2", tmp / "ipxe");
    CHECK(s.message() == "boot file " + (tmp / "ipxe" / "snponly.efi").string() +
                             " is missing: install Debian's ipxe package (apt-get install ipxe)");
    CHECK_FALSE(fs::exists(tmp / "tftp2"));
}

TEST_CASE("pxe: the posix launcher runs, reaps and signals a real child") {
    auto launcher = make_posix_launcher();
    auto pid = launcher->spawn({"/bin/sh", "-c", "exit 7"});
    REQUIRE_MESSAGE(pid, pid.status().message());
    std::optional<ExitStatus> status;
    for (int i = 0; i < 500 && !status; ++i) {
        status = launcher->try_reap(*pid);
        if (!status) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(status == ExitStatus::exited(7));

    auto sleeper = launcher->spawn({"/bin/sleep", "30"});
    REQUIRE(sleeper);
    CHECK_FALSE(launcher->try_reap(*sleeper));
    launcher->send_signal(*sleeper, SIGTERM);
    status.reset();
    for (int i = 0; i < 500 && !status; ++i) {
        status = launcher->try_reap(*sleeper);
        if (!status) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(status == ExitStatus::signaled(SIGTERM));

    auto missing = launcher->spawn({"/nonexistent/dnsmasq"});
    CHECK(missing.status().message() == "exec /nonexistent/dnsmasq: No such file or directory");
}

TEST_CASE("pxe: a process left by an earlier run is ended, anything else left alone") {
    TempDir tmp;
    const fs::path pid_file = tmp / "dnsmasq.pid";
    auto none = end_stale_process(pid_file, "--conf-file=/x");  // no pid file
    REQUIRE(none);
    CHECK_FALSE(none->has_value());

    std::ofstream(pid_file) << ::getpid() << "\n";  // a live process, but not ours
    none = end_stale_process(pid_file, "--conf-file=/nowhere/dnsmasq.conf");
    REQUIRE(none);
    CHECK_FALSE(none->has_value());

    auto launcher = make_posix_launcher();
    auto child = launcher->spawn({"/bin/sh", "-c", "sleep 30", "--conf-file=/state/dnsmasq.conf"});
    REQUIRE(child);
    std::ofstream(pid_file) << *child << "\n";
    auto ended = end_stale_process(pid_file, "--conf-file=/state/dnsmasq.conf");
    REQUIRE_MESSAGE(ended, ended.status().message());
    CHECK(ended->value_or(0) == *child);
    std::optional<ExitStatus> status;
    for (int i = 0; i < 500 && !status; ++i) {
        status = launcher->try_reap(*child);
        if (!status) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(status == ExitStatus::signaled(SIGTERM));
}
