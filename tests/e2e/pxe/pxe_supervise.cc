// pxe_supervise: the e2e driver of the pxe library. It does what provisionerd does with it:
// lays out the TFTP root from the ipxe package, renders dnsmasq.conf, runs dnsmasq under a
// Supervisor (restarted when it dies, stopped on SIGTERM/SIGINT), and edits the hosts dir.
//
//   pxe_supervise run --state DIR --interface eth0 --listen 10.77.0.1
//       --range 10.77.0.100,10.77.0.199 --http http://10.77.0.1:8080 [--dnsmasq PATH]
//   pxe_supervise render ...same options...     # prints dnsmasq.conf
//   pxe_supervise add-host --hosts-dir DIR --mac MAC [--ip IP] [--name NAME]
//   pxe_supervise remove-host --hosts-dir DIR --mac MAC
// In `run`, SIGHUP is forwarded to dnsmasq (re-read the hosts dir after a removal).
#include <CLI/CLI.hpp>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <iostream>

#include "base/atomic_file.h"
#include "pxe/boot_files.h"
#include "pxe/dnsmasq_config.h"
#include "pxe/hosts_directory.h"
#include "pxe/stale_process.h"
#include "pxe/supervisor.h"

namespace fs = std::filesystem;

namespace {

struct ServerOptions {
    std::string state, interface, listen, range, proxy, http, uefi = "snponly";
    std::string dnsmasq = "/usr/sbin/dnsmasq", ipxe_dir = pxe::kDebianIpxeDir;
};

void add_server_options(CLI::App* cmd, ServerOptions& o) {
    cmd->add_option("--state", o.state, "state directory (conf, tftp/, hosts/, leases)")
        ->required();
    cmd->add_option("--interface", o.interface, "provisioning interface")->required();
    cmd->add_option("--listen", o.listen, "server address on it");
    cmd->add_option("--range", o.range, "full DHCP: START,END (netmask 255.255.255.0)");
    cmd->add_option("--proxy", o.proxy, "proxy-DHCP on this subnet (network address)");
    cmd->add_option("--http", o.http, "provisionerd's HTTP base URL")->required();
    cmd->add_option("--uefi", o.uefi, "UEFI boot file: snponly or ipxe");
    cmd->add_option("--dnsmasq", o.dnsmasq, "dnsmasq binary");
    cmd->add_option("--ipxe-dir", o.ipxe_dir, "where the ipxe package put its binaries");
}

base::Result<pxe::DnsmasqConfig> make_config(const ServerOptions& o) {
    pxe::DnsmasqConfig c;
    const fs::path state = fs::absolute(o.state);
    c.interface = o.interface;
    c.listen_address = o.listen;
    c.tftp_root = state / "tftp";
    c.hosts_dir = state / "hosts";
    c.http_base_url = o.http;
    c.pid_file = state / "dnsmasq.pid";
    c.lease_file = state / "dnsmasq.leases";
    c.uefi_boot_file = o.uefi == "ipxe" ? pxe::UefiBootFile::kIpxe : pxe::UefiBootFile::kSnpOnly;
    if (o.range.empty() == o.proxy.empty())
        return base::Status::error("give exactly one of --range and --proxy");
    if (!o.range.empty()) {
        const auto comma = o.range.find(',');
        if (comma == std::string::npos) return base::Status::error("--range wants START,END");
        c.mode = pxe::FullRange{o.range.substr(0, comma), o.range.substr(comma + 1)};
    } else {
        c.mode = pxe::ProxyDhcp{o.proxy};
    }
    return c;
}

int fail(const std::string& what) {
    std::cerr << "pxe_supervise: " << what << "\n";
    return 1;
}

int run(const ServerOptions& o) {
    auto config = make_config(o);
    if (!config) return fail(config.status().message());
    auto conf = pxe::render_dnsmasq_conf(*config);
    if (!conf) return fail(conf.status().message());
    if (auto s = pxe::install_boot_files(config->tftp_root, o.ipxe_dir); !s)
        return fail(s.message());
    pxe::HostsDirectory hosts(config->hosts_dir);
    if (auto s = hosts.ensure(); !s) return fail(s.message());
    const fs::path conf_path = fs::absolute(o.state) / "dnsmasq.conf";
    if (auto s = base::write_file_atomically(conf_path, *conf, fs::perms(0644)); !s)
        return fail(s.message());

    // Signals are taken synchronously with sigtimedwait; the child gets an empty mask back.
    sigset_t wanted;
    sigemptyset(&wanted);
    for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&wanted, sig);
    sigprocmask(SIG_BLOCK, &wanted, nullptr);

    auto launcher = pxe::make_posix_launcher();
    base::Clock& clock = base::real_clock();
    pxe::SupervisorOptions options;
    options.argv = pxe::dnsmasq_argv(o.dnsmasq, conf_path);
    options.log = [](const std::string& line) { std::cerr << "supervisor: " << line << std::endl; };
    pxe::Supervisor supervisor(std::move(options), *launcher, clock);
    // A dnsmasq left by a run killed -9 would hold the DHCP port; end it first.
    auto stale = pxe::end_stale_process(config->pid_file, "--conf-file=" + conf_path.string());
    if (!stale) return fail(stale.status().message());
    if (stale->has_value())
        std::cerr << "supervisor: ended dnsmasq pid " << **stale << " left by an earlier run"
                  << std::endl;
    if (auto s = supervisor.start(); !s) return fail(s.message());

    for (;;) {
        // Wake for a signal, or when a restart is due; a 1 s ceiling bounds any missed SIGCHLD.
        auto wait = std::chrono::milliseconds(1000);
        if (auto at = supervisor.next_wakeup()) {
            auto until =
                std::chrono::duration_cast<std::chrono::milliseconds>(at.value() - clock.now());
            wait = std::clamp(until, std::chrono::milliseconds(0), wait);
        }
        timespec ts{static_cast<time_t>(wait.count() / 1000),
                    static_cast<long>(wait.count() % 1000) * 1000000L};
        const int sig = sigtimedwait(&wanted, nullptr, &ts);
        if (sig == SIGTERM || sig == SIGINT) break;
        if (sig == SIGHUP) {
            if (auto s = supervisor.signal(SIGHUP); !s) std::cerr << s.message() << "\n";
        }
        supervisor.poll();
    }
    supervisor.stop();
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"pxe_supervise: dnsmasq under the pxe library's Supervisor (e2e driver)"};
    app.require_subcommand(1);
    ServerOptions server;
    auto* run_cmd = app.add_subcommand("run", "lay out TFTP, render the config, supervise dnsmasq");
    add_server_options(run_cmd, server);
    auto* render_cmd = app.add_subcommand("render", "print dnsmasq.conf");
    add_server_options(render_cmd, server);

    std::string hosts_dir, mac_text, ip, name;
    auto* add_cmd = app.add_subcommand("add-host", "write a host's dhcp-host entry");
    auto* remove_cmd = app.add_subcommand("remove-host", "delete a host's dhcp-host entry");
    for (auto* cmd : {add_cmd, remove_cmd}) {
        cmd->add_option("--hosts-dir", hosts_dir)->required();
        cmd->add_option("--mac", mac_text)->required();
    }
    add_cmd->add_option("--ip", ip);
    add_cmd->add_option("--name", name);
    CLI11_PARSE(app, argc, argv);

    if (*run_cmd) return run(server);
    if (*render_cmd) {
        auto config = make_config(server);
        if (!config) return fail(config.status().message());
        auto conf = pxe::render_dnsmasq_conf(*config);
        if (!conf) return fail(conf.status().message());
        std::cout << *conf;
        return 0;
    }
    auto mac = base::Mac::parse(mac_text);
    if (!mac) return fail(mac.status().message());
    pxe::HostsDirectory hosts(hosts_dir);
    if (*add_cmd) {
        auto s = hosts.put(pxe::HostEntry{*mac, ip, name});
        return s ? 0 : fail(s.message());
    }
    bool needs_reload = false;
    auto s = hosts.remove(*mac, &needs_reload);
    if (!s) return fail(s.message());
    if (needs_reload) std::cout << "reload dnsmasq (SIGHUP) to forget " << mac->str() << "\n";
    return 0;
}
