// The agent's command-line plumbing, shared by provisioner-agent (main.cc) and
// provisioner-agent-netboot (netboot_main.cc): flags, their resolution over the kernel command
// line, the CA, the network commands of the netboot stage, and the dispatch of a command table.
#include "agent_cli.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imaging/http/tls.h"
#include "provisioner/agent/agent.h"
#include "provisioner/agent/cmdline.h"
#include "provisioner/agent/facts.h"
#include "provisioner/agent/network.h"

namespace provisioner::agent::cli {
namespace {

namespace fs = std::filesystem;

std::string pick(const std::string& flag, const std::map<std::string, std::string>& cmdline,
                 const char* key) {
    if (!flag.empty()) return flag;
    auto it = cmdline.find(key);
    return it == cmdline.end() ? "" : it->second;
}

void usage(std::ostream& out, std::span<const Command> commands) {
    out << "usage: provisioner-agent [COMMAND] [--ca FILE] [options]   (provisioner-agent "
           "COMMAND --help)\n"
           "Without a command: image, or discover when the kernel command line says "
        << kCmdlineMode << "=discover.\n"
        << "An https:// server is verified against the CA in --ca FILE, else $PROVISIONER_CA, "
           "else "
        << kCmdlineCa << "= on the command line (--cmdline), else " << kDefaultCaFile
        << " (the netboot initramfs carries it), else the system's CAs; a server whose "
           "certificate does not verify is never talked to.\n\ncommands:\n";
    for (const auto& c : commands) out << "  " << c.name << "\t" << c.summary << "\n";
}

std::string cmdline_file(int argc, char** argv) {
    std::string file = "/proc/cmdline";
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--cmdline" && i + 1 < argc) file = argv[i + 1];
        if (a.starts_with("--cmdline=")) file = std::string(a.substr(10));
    }
    return file;
}

// The CA from the seed, in a private file for the process's https:// client.
imaging::Result<std::string> write_seeded_ca(const std::string& pem) {
    if (pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
        return imaging::Status::error("not a base64 PEM certificate");
    std::string path = (std::filesystem::temp_directory_path() / "provisioner-ca-XXXXXX").string();
    int fd = ::mkstemp(path.data());  // 0600
    if (fd < 0) return imaging::errno_status("creating " + path);
    bool ok = ::write(fd, pem.data(), pem.size()) == ssize_t(pem.size());
    ::close(fd);
    if (!ok) return imaging::Status::error("writing " + path + " failed");
    return path;
}

// Takes --ca FILE out of args (every command accepts it) and sets the CA every https://
// request of this process verifies the server by (see usage). 2 when FILE is not readable.
int choose_ca(std::vector<char*>& args) {
    std::string ca;
    for (std::size_t i = 1; i < args.size(); ++i) {
        std::string_view a = args[i];
        if (a == "--ca" && i + 1 < args.size()) {
            ca = args[i + 1];
            args.erase(args.begin() + std::ptrdiff_t(i), args.begin() + std::ptrdiff_t(i) + 2);
            break;
        }
        if (a.starts_with("--ca=")) {
            ca = std::string(a.substr(5));
            args.erase(args.begin() + std::ptrdiff_t(i));
            break;
        }
    }
    if (ca.empty())
        if (const char* env = std::getenv("PROVISIONER_CA"); env && *env) ca = env;
    if (ca.empty()) {
        auto cmdline = read_kernel_cmdline(cmdline_file(int(args.size()), args.data()));
        if (cmdline && cmdline->count(kCmdlineCa)) ca = cmdline->at(kCmdlineCa);
        if (ca.empty() && cmdline && cmdline->count(kCmdlineCaPem)) {
            // The seed partition's copy of the CA the netboot agent trusted.
            auto written = write_seeded_ca(base64_decode(cmdline->at(kCmdlineCaPem)));
            if (!written) {
                std::cerr << "agent: error: " << kCmdlineCaPem << ": " << written.status().message()
                          << "\n";
                return 2;
            }
            ca = *written;
        }
    }
    if (ca.empty() && ::access(kDefaultCaFile, R_OK) == 0) ca = kDefaultCaFile;
    if (!ca.empty() && ::access(ca.c_str(), R_OK) != 0) {
        std::cerr << "agent: error: cannot read the CA file " << ca << "\n";
        return 2;
    }
    imaging::http::set_default_ca_file(ca);
    return 0;
}

// The command when none is given: what iPXE put on the kernel command line.
const char* default_command(int argc, char** argv) {
    auto cmdline = read_kernel_cmdline(cmdline_file(argc, argv));
    if (cmdline && cmdline->count(kCmdlineMode) && cmdline->at(kCmdlineMode) == "discover")
        return "discover";
    return "image";
}

}  // namespace

void add_flags(CLI::App& app, Flags& f, bool network) {
    app.add_option("--disk", f.disk,
                   "the disk to write (default: the job's, else the largest "
                   "non-removable one); a loop or ram disk is listed only then");
    app.add_option("--root", f.root, "read /proc and /sys under this directory (tests)")
        ->capture_default_str();
    if (!network) return;
    app.add_option("--cmdline", f.cmdline, "kernel command line to read provisioner.* from")
        ->capture_default_str();
    app.add_option("--server", f.server,
                   "provisionerd's URL, or several comma-separated, tried in turn while one is "
                   "down or failing (else provisioner.server, which may list several too)");
    app.add_option("--token", f.token, "this host's token (else provisioner.token)");
    app.add_option(
        "--mac", f.mac,
        "this host's MAC (else provisioner.mac, else the NIC that routes to the server)");
    app.add_option("--imaging", f.imaging,
                   "the imaging tool (default: the one beside this program, else PATH)");
    app.add_option("--hello-timeout", f.hello_timeout,
                   "seconds to keep trying while the server is unreachable or failing")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    app.add_option("--result-timeout", f.result_timeout,
                   "seconds to keep trying to post the result while the server is unreachable")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    app.add_option("--storage", f.storage, "ready: the filesystem whose free space is offered")
        ->capture_default_str();
}

std::string default_imaging() {
    std::error_code ec;
    fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        fs::path beside = self.parent_path() / "imaging";
        if (::access(beside.c_str(), X_OK) == 0) return beside.string();
    }
    return "imaging";
}

// Flags over the kernel command line over what the host can find out; nullopt after logging.
std::optional<AgentOptions> resolve(const Flags& f, bool need_token, std::string& server,
                                    std::string& token) {
    auto cmdline = read_kernel_cmdline(f.cmdline);
    if (!cmdline) {
        std::cerr << "agent: error: " << cmdline.status().message() << "\n";
        return std::nullopt;
    }
    server = pick(f.server, *cmdline, kCmdlineServer);
    token = pick(f.token, *cmdline, kCmdlineToken);
    // Dom0 reads its seed partition, the netboot agent /proc/cmdline: name the one read.
    const std::string where = f.cmdline == "/proc/cmdline" ? "on the kernel command line"
                                                          : "in " + f.cmdline;
    if (server.empty()) {
        std::cerr << "agent: error: no server: give --server or " << kCmdlineServer << "= "
                  << where << "\n";
        return std::nullopt;
    }
    if (need_token && token.empty()) {
        std::cerr << "agent: error: no host token: give --token or " << kCmdlineToken << "= "
                  << where << "\n";
        return std::nullopt;
    }
    AgentOptions o;
    o.root = f.root;
    o.storage = f.storage;
    o.disk = f.disk;
    o.imaging = f.imaging.empty() ? default_imaging() : f.imaging;
    o.hello_timeout = std::chrono::milliseconds(std::int64_t(f.hello_timeout * 1000));
    o.result_timeout = std::chrono::milliseconds(std::int64_t(f.result_timeout * 1000));
    auto ip = server_ipv4(first_server_url(server));  // several: the first finds the NIC
    if (ip) {
        if (auto iface = route_interface(o.root, *ip)) o.interface = *iface;
    }
    std::string mac = pick(f.mac, *cmdline, kCmdlineMac);
    if (mac.empty() && !o.interface.empty()) {
        if (auto found = interface_mac(o.root, o.interface)) mac = *found;
    }
    o.mac = normalize_mac(mac);
    if (o.mac.empty()) {
        std::cerr << "agent: error: "
                  << (mac.empty() ? "no MAC: give --mac or " + std::string(kCmdlineMac) +
                                        "= (no route to the server to find one: " +
                                        (ip ? std::string("no route") : ip.status().message()) + ")"
                                  : "\"" + mac + "\" is not a MAC address")
                  << "\n";
        return std::nullopt;
    }
    if (o.interface.empty()) {
        if (auto iface = interface_with_mac(o.root, o.mac)) o.interface = *iface;
    }
    return o;
}

int cmd_network(int argc, char** argv, const char* name, const char* about,
                int (*flow)(const AgentOptions&, ServerClient&, base::Clock&), bool need_token) {
    CLI::App app{about};
    app.name(std::string("provisioner-agent ") + name);
    Flags f;
    add_flags(app, f, true);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    std::string server, token;
    auto options = resolve(f, need_token, server, token);
    if (!options) return 1;
    ServerClient client(server, token);
    return flow(*options, client, base::real_clock());
}

namespace {

int image_flow(const AgentOptions& o, ServerClient& s, base::Clock& c) {
    auto runner = make_child_imaging_runner();
    return run_image(o, s, *runner, c);
}

}  // namespace

int cmd_image(int argc, char** argv) {
    return cmd_network(argc, argv, "image",
                       "Say hello to provisionerd, receive this host's job, write and verify the "
                       "image with `imaging receive`, report progress and the result.",
                       image_flow, true);
}

int cmd_discover(int argc, char** argv) {
    return cmd_network(argc, argv, "discover",
                       "Register this host with provisionerd as discovered, with its facts.",
                       run_discover, false);
}

int cmd_facts(int argc, char** argv) {
    CLI::App app{"Print this host's facts (CPU, memory, disks, NICs) as the hello sends them."};
    app.name("provisioner-agent facts");
    Flags f;
    add_flags(app, f, false);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    std::cout << facts_to_json(collect_facts(f.root, f.disk)).dump(2) << std::endl;
    return 0;
}

int run_agent(int argc, char** argv, std::span<const Command> commands) {
    if (argc >= 2 && (!std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
                      !std::strcmp(argv[1], "help"))) {
        usage(std::cout, commands);
        return 0;
    }
    std::vector<char*> args(argv, argv + argc);
    if (int rc = choose_ca(args); rc != 0) return rc;
    argc = int(args.size());
    argv = args.data();
    std::string name;
    if (argc >= 2 && argv[1][0] != '-') {
        name = argv[1];
        args.erase(args.begin() + 1);
    } else {
        name = default_command(argc, argv);
    }
    for (const auto& c : commands) {
        if (name == c.name) return c.run(int(args.size()), args.data());
    }
    std::cerr << "provisioner-agent: unknown command '" << name << "'\n";
    usage(std::cerr, commands);
    return 2;
}

}  // namespace provisioner::agent::cli
