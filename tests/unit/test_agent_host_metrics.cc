// The Dom0 agent's /proc parsers on fixed text, and read_host_metrics on a fake tree.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "provisioner/agent/host_metrics.h"

using namespace provisioner;
using namespace provisioner::agent;

namespace {

const char* kStat =
    "cpu  10132153 290696 3084719 46828483 16683 0 25195 0 175628 0\n"
    "cpu0 1393280 32966 572056 13343292 6130 0 17875 0 23933 0\n"
    "intr 1462898\n"
    "ctxt 2391720\n"
    "btime 1764806400\n"
    "processes 26442\n";

const char* kMeminfo =
    "MemTotal:       16318496 kB\n"
    "MemFree:          905256 kB\n"
    "MemAvailable:    9870432 kB\n"
    "Buffers:          412048 kB\n";

const char* kNetDev =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
    "drop fifo colls carrier compressed\n"
    "    lo: 1024  10    0    0    0     0          0         0     1024  10    0    0    0     "
    "0       0          0\n"
    "  eth0: 987654321 700000 3 1 0 0 0 12 123456789 400000 2 0 0 0 0 0\n";

void write(const std::filesystem::path& path, const char* text) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
}

}  // namespace

TEST_CASE("host metrics: /proc/stat's cpu line by mode in seconds, and btime") {
    wire::HostMetrics m;
    REQUIRE(parse_proc_stat(kStat, 100, m));
    CHECK(m.cpu_seconds.at("user") == doctest::Approx(101321.53));
    CHECK(m.cpu_seconds.at("idle") == doctest::Approx(468284.83));
    CHECK(m.cpu_seconds.at("softirq") == doctest::Approx(251.95));
    CHECK(m.cpu_seconds.at("steal") == 0);
    CHECK(m.cpu_seconds.size() == 8);  // guest and guest_nice are in user and nice already
    CHECK(m.boot_time_seconds == 1764806400);

    wire::HostMetrics none;
    CHECK(parse_proc_stat("intr 1\n", 100, none).message() == "/proc/stat: no cpu line");
    CHECK_FALSE(parse_proc_stat("cpu 1 2 x 4\n", 100, none));
    CHECK_FALSE(parse_proc_stat(kStat, 0, none));
}

TEST_CASE("host metrics: /proc/meminfo, /proc/loadavg and /proc/uptime") {
    wire::HostMetrics m;
    REQUIRE(parse_meminfo(kMeminfo, m));
    CHECK(m.memory_total_bytes == 16318496ull * 1024);
    CHECK(m.memory_available_bytes == 9870432ull * 1024);
    CHECK(parse_meminfo("MemFree: 1 kB\n", m).message() == "/proc/meminfo: no MemTotal");
    CHECK_FALSE(parse_meminfo("MemTotal: lots kB\n", m));

    REQUIRE(parse_loadavg("0.52 1.25 2.00 3/612 40213\n", m));
    CHECK(m.load1 == doctest::Approx(0.52));
    CHECK(m.load5 == doctest::Approx(1.25));
    CHECK(m.load15 == doctest::Approx(2.0));
    CHECK_FALSE(parse_loadavg("0.52 1.25\n", m));

    REQUIRE(parse_uptime("350735.47 234388.90\n", m));
    CHECK(m.uptime_seconds == doctest::Approx(350735.47));
    CHECK_FALSE(parse_uptime("", m));
}

TEST_CASE("host metrics: /proc/net/dev bytes and errors per interface") {
    auto devs = parse_net_dev(kNetDev);
    REQUIRE(devs);
    REQUIRE(devs->size() == 2);
    CHECK(devs->at(0).device == "lo");
    CHECK(devs->at(0).receive_bytes == 1024);
    const wire::NetworkDevice& eth0 = devs->at(1);
    CHECK(eth0.device == "eth0");
    CHECK(eth0.receive_bytes == 987654321);
    CHECK(eth0.receive_errors == 3);
    CHECK(eth0.transmit_bytes == 123456789);
    CHECK(eth0.transmit_errors == 2);
    CHECK_FALSE(parse_net_dev("  eth0: 1 2 3\n"));
    CHECK_FALSE(parse_net_dev("  eth0: 1 2 3 4 5 6 7 8 x 10 11 12 13 14 15 16\n"));
}

TEST_CASE(
    "host metrics: read from a tree, with statvfs of its filesystem; a missing file is an error") {
    auto root = std::filesystem::temp_directory_path() / "host_metrics_tree";
    std::filesystem::remove_all(root);
    write(root / "proc/stat", kStat);
    write(root / "proc/meminfo", kMeminfo);
    write(root / "proc/loadavg", "0.10 0.20 0.30 1/100 5\n");
    write(root / "proc/uptime", "100.5 50.0\n");
    write(root / "proc/net/dev", kNetDev);
    auto m = read_host_metrics(root);
    REQUIRE_MESSAGE(m, m.status().message());
    CHECK(m->memory_total_bytes == 16318496ull * 1024);
    CHECK(m->load15 == doctest::Approx(0.3));
    CHECK(m->network.size() == 2);
    CHECK(m->mountpoint == "/");
    CHECK(m->filesystem_size_bytes > 0);
    CHECK(m->filesystem_avail_bytes <= m->filesystem_free_bytes);
    CHECK(m->filesystem_free_bytes <= m->filesystem_size_bytes);

    std::filesystem::remove(root / "proc/net/dev");
    auto missing = read_host_metrics(root);
    REQUIRE_FALSE(missing);
    CHECK(missing.status().message().find("proc/net/dev") != std::string::npos);
    std::filesystem::remove_all(root);
}
