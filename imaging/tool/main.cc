#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "commands.h"
#include "imaging/suggest.h"

namespace imaging::tool {
namespace {

struct Command {
    const char* name;
    const char* summary;
    int (*run)(int argc, char** argv);
};

constexpr Command kCommands[] = {
    {"keygen", "make an Ed25519 signing key pair (PREFIX.key, PREFIX.pub)", cmd_keygen},
    {"pack", "cut a raw disk image into signed, zstd-compressed chunks", cmd_pack},
    {"verify", "check an image's signature and every chunk", cmd_verify},
    {"unpack", "write an image out to a file (sparse) or a block device", cmd_unpack},
    {"serve", "serve an image to delta receivers over TCP", cmd_serve},
    {"send", "send an image to many hosts at once over UDP multicast", cmd_send},
    {"torrent", "make the BitTorrent torrent of an image", cmd_torrent},
    {"swarm-ca", "make a swarm's CA and its peers' certificates (SSL torrents)", cmd_swarm_ca},
    {"seed", "seed an image over BitTorrent, and track its swarm", cmd_seed},
    {"tracker", "track a BitTorrent swarm on its own, apart from the seed", cmd_tracker},
    {"receive", "receive an image by a transport (delta, ...)", cmd_receive},
};

void usage(std::FILE* out) {
    std::fprintf(out,
                 "usage: imaging COMMAND [options]   (imaging COMMAND --help for its options)\n\n"
                 "commands:\n");
    for (const auto& c : kCommands) std::fprintf(out, "  %-9s %s\n", c.name, c.summary);
}

}  // namespace

int fail(const std::string& message) {
    std::cerr << "imaging: error: " << message << std::endl;
    return 1;
}

}  // namespace imaging::tool

int main(int argc, char** argv) {
    using namespace imaging::tool;
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
        !std::strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    std::string_view name = argv[1];
    for (const auto& c : kCommands) {
        if (name == c.name) return c.run(argc - 1, argv + 1);
    }
    std::vector<std::string> names;
    for (const auto& c : kCommands) names.emplace_back(c.name);
    std::cerr << "imaging: unknown command '" << name << "'";
    if (auto best = imaging::closest_match(name, names)) {
        std::cerr << "; did you mean '" << *best << "'?";
    }
    std::cerr << "\n";
    usage(stderr);
    return 2;
}
