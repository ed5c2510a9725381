// provisioner-agent: runs on each host. The netboot initramfs runs `provisioner-agent` (image,
// or discover when the kernel command line says provisioner.mode=discover); the Dom0 runs
// `provisioner-agent ready`; a VM runs `provisioner-agent guest`. Its commands are one table,
// like the imaging tool's. The netboot initramfs carries provisioner-agent-netboot instead
// (netboot_main.cc): image, discover and facts only, without libvirt.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imaging/http/tls.h"
#include "agent_cli.h"
#include "provisioner/agent/agent.h"
#include "provisioner/agent/cmdline.h"
#include "provisioner/agent/compress_tunnel.h"
#include "provisioner/agent/dom0.h"
#include "provisioner/agent/facts.h"
#include "provisioner/agent/guest.h"
#include "provisioner/agent/network.h"
#include "provisioner/agent/smbios.h"
#include "provisioner/agent/vm_registry.h"
#include "provisioner/vmhost/hypervisor.h"
#include "provisioner/vmhost/process.h"
#include "provisioner/vmhost/template_store.h"
#include "template_command.h"

namespace {

namespace fs = std::filesystem;
using namespace provisioner::agent;
using namespace provisioner::agent::cli;

int cmd_ready(int argc, char** argv) {
    return cmd_network(argc, argv, "ready",
                       "Tell provisionerd this Dom0 is ready, with its capacity (CPUs, memory, "
                       "free disk).",
                       run_ready, true);
}

std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) {
    g_stop = true;
}

int cmd_dom0(int argc, char** argv) {
    CLI::App app{
        "Report this Dom0's capacity and VMs to provisionerd about once a second and "
        "carry out the VM actions it answers with, through libvirt. Managed VMs are "
        "recorded in DISKS/vms.json beside their overlay disks."};
    app.name("provisioner-agent dom0");
    Flags f;
    std::string uri = "qemu:///system";
    std::string templates = "/var/lib/provisioner/templates";
    std::string disks = "/var/lib/provisioner/disks";
    double interval = 1, run_for = 0, dispose_interval = 3600;
    std::string pubkey, imaging, accel = "auto", bridge;
    Dom0Options o;
    app.add_option("--cmdline", f.cmdline, "kernel command line to read provisioner.* from")
        ->capture_default_str();
    app.add_option("--server", f.server,
                   "provisionerd's URL, or several comma-separated, reports failing over "
                   "between them (else provisioner.server, as the seed partition lists them)");
    app.add_option("--token", f.token, "this host's token (else provisioner.token)");
    app.add_option("--mac", f.mac,
                   "this host's MAC (else provisioner.mac, else the NIC to the server)");
    app.add_option("--root", f.root, "read /proc and /sys under this directory (tests)")
        ->capture_default_str();
    app.add_option("--libvirt", uri, "libvirt URI (xen:///system, qemu:///system, test:///default)")
        ->capture_default_str();
    app.add_option("--accel", accel,
                   "qemu hosts: kvm, tcg, or auto: KVM only when the CPU shows vmx or svm and "
                   "/dev/kvm runs a test vCPU, else TCG (libvirt's domain type qemu); the agent "
                   "logs which and why")
        ->capture_default_str()
        ->check(CLI::IsMember({"auto", "kvm", "tcg"}));
    app.add_option("--bridge", bridge,
                   "the host bridge that VMs' interfaces on the hosts' untagged network join "
                   "(default: libvirt's network 'default')");
    std::string trunk;
    app.add_option("--trunk", trunk,
                   "the interface that carries the site's VLANs tagged: a VM's interface on a "
                   "site network with VLAN N joins bridge pvbrN, whose port is pvvlN, this "
                   "interface's 802.1Q sub-interface for N, or a TAP port the agent tags in "
                   "user space where the kernel has no 802.1Q (made when missing; default: the "
                   "libvirt network of the site network's name, with a <vlan> tag, which "
                   "libvirt honours only on Open vSwitch)");
    double shutdown_wait = 60;
    app.add_option("--shutdown-wait", shutdown_wait,
                   "seconds a moved VM's guest has to shut down (ACPI) before it is powered off")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    app.add_option("--templates", templates, "this host's template store")->capture_default_str();
    app.add_option("--disks", disks,
                   "where VM overlay disks go, with vms.json and, without --pubkey, site.pub "
                   "(the server's signing key as it sent it)")
        ->capture_default_str();
    app.add_option("--interval", interval,
                   "seconds between reports (at most: shorter when the server's answer asks "
                   "for a shorter heartbeat interval)")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_flag("--once", o.once,
                 "one report and its actions, then exit (1 if the report failed)");
    app.add_option("--reserved-vcpus", o.reserved_vcpus, "vCPUs Dom0 keeps for itself")
        ->capture_default_str();
    app.add_option("--reserved-memory-mib", o.reserved_memory_mib, "MiB Dom0 keeps for itself")
        ->capture_default_str();
    app.add_option("--for", run_for, "run this many seconds, then exit 0 (0: until SIGTERM)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    app.add_option("--pubkey", pubkey,
                   "pin the server's image signing key (its STATE/site.pub): hot templates are "
                   "pre-copied by the delta transport and checked against this key only "
                   "(default: the key the server sends with its hot list, kept in "
                   "DISKS/site.pub)");
    app.add_option("--imaging", imaging,
                   "the imaging tool (default: the one beside this program, else PATH)");
    std::vector<std::string> vm_interfaces;
    int compress_port = 4790;
    app.add_option("--vm-interface", vm_interfaces,
                   "VM=IFNAME: the VM's interface in this Dom0, for its network services "
                   "(repeatable; default: the target dev of its first interface in libvirt)");
    app.add_option("--compress-port", compress_port,
                   "UDP port of the compression tunnel, the same on every Dom0")
        ->capture_default_str()
        ->check(CLI::Range(1, 65535));
    app.add_option("--dispose-interval", dispose_interval,
                   "seconds between disposals of cold templates (the first at start)")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    std::string server, token;
    auto agent = resolve(f, true, server, token);
    if (!agent) return 1;
    provisioner::vmhost::OpenOptions open_options;
    open_options.accel = *provisioner::vmhost::parse_accel(accel);  // checked by IsMember
    open_options.root = f.root;
    auto hypervisor = provisioner::vmhost::open_libvirt(uri, open_options);
    if (!hypervisor) {
        std::cerr << "agent: error: " << hypervisor.status().message() << "\n";
        return 1;
    }
    std::cerr << "agent: " << uri << ": new VMs are "
              << provisioner::vmhost::to_string((*hypervisor)->kind()) << " domains ("
              << (*hypervisor)->kind_reason() << ")\n";
    auto store = provisioner::vmhost::TemplateStore::open(templates);
    if (!store) {
        std::cerr << "agent: error: " << store.status().message() << "\n";
        return 1;
    }
    auto registry = VmRegistry::open(disks);
    if (!registry) {
        std::cerr << "agent: error: " << registry.status().message() << "\n";
        return 1;
    }
    o.mac = agent->mac;
    o.libvirt_uri = uri;
    // libvirt's test driver cannot migrate (each process has its own); Xen and KVM can, given
    // the hosts reach each other's libvirt at libvirt_uri, which a local URI does not.
    o.live_migration = (*hypervisor)->kind() != provisioner::vmhost::DomainKind::test &&
                       provisioner::vmhost::uri_reaches_peers(uri);
    o.root = f.root;
    o.interval = std::chrono::milliseconds(std::int64_t(interval * 1000));
    o.run_for = std::chrono::milliseconds(std::int64_t(run_for * 1000));
    auto xl = provisioner::vmhost::make_process_runner();  // in Xen's Dom0: its free memory
    o.xl = xl.get();
    for (const std::string& pair : vm_interfaces) {
        const auto eq = pair.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == pair.size()) {
            std::cerr << "agent: error: --vm-interface " << pair << ": expected VM=IFNAME\n";
            return 1;
        }
        o.vm_interfaces[pair.substr(0, eq)] = pair.substr(eq + 1);
    }
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    ::sigaction(SIGTERM, &action, nullptr);
    ::sigaction(SIGINT, &action, nullptr);
    ServerClient client(server, token);
    auto qemu_img = provisioner::vmhost::make_process_runner();
    ServerTemplates server_templates(server, token);
    ServerDisks server_disks(server, token);
    VmHost host{**hypervisor, **store, **registry, *qemu_img, &server_templates, &server_disks};
    host.bridge = bridge;
    host.shutdown_wait = std::chrono::milliseconds(std::int64_t(shutdown_wait * 1000));
    auto ip = provisioner::vmhost::make_process_runner();
    std::optional<VlanBridges> vlans;
    if (!trunk.empty()) {
        host.vlans = &vlans.emplace(trunk, *ip);
        for (const std::string& problem : vlans->restore())
            std::cerr << "agent: warning: " << problem << "\n";
    }
    auto imaging_runner = make_child_imaging_runner();
    auto cp = provisioner::vmhost::make_process_runner();
    TemplateWorkerOptions w;
    w.tools = {imaging.empty() ? default_imaging() : imaging, pubkey, imaging_runner.get(),
               cp.get()};
    w.received_key_file = (*registry)->dir() / "site.pub";
    w.dispose_interval = std::chrono::milliseconds(std::int64_t(dispose_interval * 1000));
    w.log = [](const std::string& line) { std::cerr << "agent: templates: " << line << std::endl; };
    w.vm_disks = [&registry] {
        std::vector<fs::path> disks;
        for (const auto& [_, vm] : (*registry)->vms()) disks.push_back(vm.disk);
        return disks;
    };
    if (pubkey.empty())
        std::cerr << "agent: templates: no --pubkey: hot templates are pre-copied once the "
                     "server has sent its signing key (kept in "
                  << w.received_key_file.string() << ")\n";
    else
        std::cerr << "agent: templates: hot templates are checked against " << pubkey
                  << " (pinned by --pubkey)\n";
    TemplateWorker worker(**store, w);
    worker.start();
    auto net_commands = real_net_commands();
    NetServicesOptions net_options;
    net_options.state_file = (*registry)->dir() / "netservices.json";
    net_options.log = [](const std::string& line) {
        std::cerr << "agent: netservices: " << line << std::endl;
    };
    net_options.compress_path = [compress_port] {
        CompressTunnelOptions t;
        t.port = static_cast<std::uint16_t>(compress_port);
        return open_compress_tunnel(t);
    };
    NetServices netservices(*net_commands, net_options);
    if (provisioner::Status loaded = netservices.load(); !loaded)
        std::cerr << "agent: netservices: " << loaded.message()
                  << " (starting with none until the server answers)\n";
    Dom0Loop loop(o, collect_facts(f.root), client, host, &worker, &netservices);
    return loop.run(base::real_clock(), &g_stop);
}

int cmd_guest(int argc, char** argv) {
    CLI::App app{
        "Run inside a VM: report this VM's services to provisionerd every interval "
        "(POST /api/v1/guest/report) and install each wanted one that is not available: "
        "its parameters go to ROOT/etc/provisioner/services/PACKAGE.env (NAME='value' lines "
        "for sh and systemd's EnvironmentFile=, and in the installer's environment), the "
        "install command runs, and a `port` parameter must then accept connections on "
        "127.0.0.1. Server, VM name and token: the flags, else provisioner.server, "
        "provisioner.guest and provisioner.token from --cmdline FILE, else from the SMBIOS OEM "
        "strings (KVM), else from /proc/cmdline. While the server is unreachable or failing "
        "(5xx) the agent keeps trying every interval; a refusal (4xx, e.g. a wrong token) ends "
        "--once with exit 1 and is retried every interval otherwise. A package the server keeps "
        "(provisioner service add) is downloaded, its signature checked with the pinned site "
        "key and its SHA-256 with the signed record, and installed by --package-command; "
        "others by --install-command. Exit status with --once: "
        "0 when every wanted service is available, 1 otherwise; 2 for a usage error."};
    app.name("provisioner-agent guest");
    GuestIdentity flags;
    std::string cmdline, smbios = kSmbiosEntries;
    std::string root = "/";
    double interval = 30, check_timeout = 60, install_timeout = 900;
    GuestOptions o;
    app.add_option("--cmdline", cmdline,
                   "read provisioner.* from this file (kernel command line syntax) instead of "
                   "the SMBIOS OEM strings and /proc/cmdline");
    app.add_option("--server", flags.server, "provisionerd's URL (else provisioner.server)");
    app.add_option("--name", flags.vm, "this VM's name (else provisioner.guest)");
    app.add_option("--token", flags.token, "this VM's guest token (else provisioner.token)");
    app.add_option("--root", root, "write etc/provisioner/services/ under this directory")
        ->capture_default_str();
    app.add_option("--install-command", o.install_command,
                   "split on whitespace (no shell); {package}, {root} and {env} (the "
                   "environment file) are replaced in each word")
        ->capture_default_str();
    std::string site_key = kDefaultSiteKey;
    bool mirror_only = false;
    app.add_option("--package-command", o.package_command,
                   "installs a package downloaded from the server: as --install-command, with "
                   "{file} the downloaded .deb")
        ->capture_default_str();
    app.add_option("--site-key", site_key,
                   "the server's site key (its STATE/site.pub) that server packages must be "
                   "signed with")
        ->capture_default_str();
    app.add_flag("--mirror-only", mirror_only,
                 "never ask the server for packages: --install-command installs every service");
    app.add_option("--interval", interval,
                   "seconds between reports (default: the server's answer, else 30)")
        ->check(CLI::PositiveNumber);
    app.add_option("--check-timeout", check_timeout,
                   "seconds a service's port may take to accept connections after the install")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    app.add_option("--install-timeout", install_timeout,
                   "seconds an install command may run before it is killed and the service "
                   "failed")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_flag("--once", o.once,
                 "one round (retrying an unreachable server), then exit 0 when every wanted "
                 "service is available, else 1");
    app.add_option("--smbios-entries", smbios, "where the SMBIOS entries are read (tests)")
        ->group("");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    auto id = resolve_guest_identity(flags, cmdline, smbios);
    if (!id) {
        std::cerr << "agent: guest: error: " << id.status().message() << "\n";
        return 2;
    }
    auto millis = [](double seconds) {
        return std::chrono::milliseconds(std::int64_t(seconds * 1000));
    };
    o.vm = id->vm;
    o.root = root;
    if (app.count("--interval")) o.interval = millis(interval);
    o.check_timeout = millis(check_timeout);
    o.install_timeout = millis(install_timeout);
    std::string server = id->server;
    o.address = [server] { return local_address_towards(server); };
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    ::sigaction(SIGTERM, &action, nullptr);
    ::sigaction(SIGINT, &action, nullptr);
    ServerClient client(id->server, id->token);
    ServerPackages packages(id->server, id->vm, id->token, site_key);
    if (!mirror_only) o.packages = &packages;
    GuestAgent agent(o, client, base::real_clock());
    return agent.run(&g_stop);
}

constexpr Command kCommands[] = {
    {"image", "receive this host's image and report (the netboot default)", cmd_image},
    {"discover", "register this host as discovered, with its facts", cmd_discover},
    {"ready", "report this Dom0 ready with its capacity", cmd_ready},
    {"facts", "print this host's facts as JSON", cmd_facts},
    {"dom0", "report this Dom0's VMs and carry out VM actions (libvirt)", cmd_dom0},
    {"template", "template add: register an image in this host's template store", cmd_template},
    {"guest", "inside a VM: install its services and report their states", cmd_guest},
};

}  // namespace

int main(int argc, char** argv) {
    return provisioner::agent::cli::run_agent(argc, argv, kCommands);
}
