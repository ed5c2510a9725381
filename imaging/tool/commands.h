// The imaging tool's subcommands: one function each, listed in one table (main.cc), like
// ninja's tools. Each parses its own arguments with CLI11 and returns the exit status.
#pragma once

#include <string>

// CLI11 parse with the tool's exit conventions: --help prints and returns 0, a usage error 2.
#define PARSE_OR_RETURN(app, argc, argv) \
    try {                                \
        (app).parse((argc), (argv));     \
    } catch (const CLI::ParseError& e) { \
        return (app).exit(e);            \
    }

namespace CLI {
class App;
}

namespace imaging {
struct ManifestPin;
}

namespace imaging::tool {

int cmd_keygen(int argc, char** argv);
int cmd_pack(int argc, char** argv);
int cmd_verify(int argc, char** argv);
int cmd_unpack(int argc, char** argv);
int cmd_serve(int argc, char** argv);
int cmd_receive(int argc, char** argv);  // dispatches on --transport (receive.cc)
int cmd_send(int argc, char** argv);     // multicast sender (cmd_send.cc)
int cmd_torrent(int argc, char** argv);  // BitTorrent: torrent, seed (cmd_torrent.cc, cmd_seed.cc)
int cmd_seed(int argc, char** argv);
int cmd_swarm_ca(int argc, char** argv);  // certificates of an SSL torrent's peers (cmd_torrent.cc)
int cmd_tracker(int argc, char** argv);  // BitTorrent tracker on its own (cmd_seed.cc)

// Receivers, one per transport, called by cmd_receive with the same arguments.
int receive_delta(int argc, char** argv);
int receive_multicast(int argc, char** argv);
int receive_torrent(int argc, char** argv);

// Adds --progress-json to a receiver: progress lines on stdout (imaging/progress.h) before the
// result line. unit says what bytes_done and bytes_total count for this transport.
// --expect-sha256 HEX and --expect-image NAME@VERSION: the image the receiver must get.
void add_pin_options(CLI::App& app, ManifestPin& pin);
void add_progress_json_flag(CLI::App& app, bool& on, const std::string& unit);

// Prints "imaging: error: <message>" on stderr and returns 1: every failure is one clear line.
int fail(const std::string& message);

}  // namespace imaging::tool
