// `imaging receive --transport NAME ...`: picks the transport's receiver, which parses the
// rest of the arguments itself.
#include <CLI/CLI.hpp>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>

#include "commands.h"
#include "imaging/manifest.h"

namespace imaging::tool {
namespace {

struct Transport {
    const char* name;
    const char* summary;
    int (*run)(int argc, char** argv);
};

constexpr Transport kTransports[] = {
    {"delta", "TCP from `imaging serve`; reuses what the output or --basis already holds",
     receive_delta},
    {"torrent", "BitTorrent swarm from `imaging seed`; hosts share within the rack", receive_torrent},
    {"multicast", "UDP multicast from `imaging send`, with NACK repair", receive_multicast},
};

void print_receive_usage(std::ostream& out) {
    out << "usage: imaging receive --transport NAME [options]   "
           "(imaging receive --transport NAME --help for its options)\n\ntransports:\n";
    for (const auto& t : kTransports) out << "  " << t.name << "\t" << t.summary << "\n";
}

}  // namespace

void add_progress_json_flag(CLI::App& app, bool& on, const std::string& unit) {
    app.add_flag("--progress-json", on,
                 "print {\"progress\":{\"bytes_done\":N,\"bytes_total\":M}} on stdout about "
                 "once a second, before the result line; both count " +
                     unit);
}

void add_pin_options(CLI::App& app, ManifestPin& pin) {
    app.add_option("--expect-sha256", pin.image_sha256,
                   "refuse any image whose SHA-256 (hex, of the raw image) differs, before "
                   "writing a byte")
        ->check([](const std::string& hex) {
            bool ok = hex.size() == 64 && hex.find_first_not_of("0123456789abcdef") == std::string::npos;
            return ok ? std::string() : std::string("64 lower-case hex digits");
        });
    app.add_option_function<std::string>(
           "--expect-image",
           [&pin](const std::string& name_at_version) {
               auto at = name_at_version.rfind('@');
               pin.name = name_at_version.substr(0, at);
               pin.version = at == std::string::npos ? "" : name_at_version.substr(at + 1);
           },
           "refuse any image but NAME or NAME@VERSION")
        ->type_name("NAME[@VERSION]");
}

int cmd_receive(int argc, char** argv) {
    std::string_view transport;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--transport" && i + 1 < argc) transport = argv[i + 1];
        else if (a.starts_with("--transport=")) transport = a.substr(std::strlen("--transport="));
    }
    if (transport.empty()) {
        bool help = false;
        for (int i = 1; i < argc; ++i)
            help |= !std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h");
        print_receive_usage(help ? std::cout : std::cerr);
        return help ? 0 : 2;
    }
    for (const auto& t : kTransports) {
        if (transport == t.name) return t.run(argc, argv);
    }
    std::cerr << "imaging: error: unknown transport '" << transport << "'\n";
    print_receive_usage(std::cerr);
    return 2;
}

}  // namespace imaging::tool
