#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>
#include <algorithm>

#include "commands.h"

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
    {"seed", "seed an image over BitTorrent, and track its swarm", cmd_seed},
    {"tracker", "track a BitTorrent swarm on its own, apart from the seed", cmd_tracker},
    {"receive", "receive an image by a transport (delta, ...)", cmd_receive},
};

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
            diag = up;
        }
    }
    return row[b.size()];
}

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
    const Command* best = nullptr;
    std::size_t best_distance = 3;
    for (const auto& c : kCommands) {
        std::size_t d = edit_distance(name, c.name);
        if (d < best_distance) best = &c, best_distance = d;
    }
    std::cerr << "imaging: unknown command '" << name << "'";
    if (best) std::cerr << "; did you mean '" << best->name << "'?";
    std::cerr << "\n";
    usage(stderr);
    return 2;
}
