// `imaging torrent`: the .torrent of an image (v1, the signed manifest inside; see
// imaging/torrent/image_torrent.h for what it covers and why).
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>

#include "commands.h"
#include "imaging/progress.h"
#include "imaging/torrent/image_torrent.h"

namespace imaging::tool {

int cmd_torrent(int argc, char** argv) {
    CLI::App app{"Make the BitTorrent torrent of an image: it covers chunks.pack, so the "
                 "wire carries compressed chunks, and it carries the signed manifest, so a "
                 "receiver refuses a torrent that is not the image its key signed."};
    app.name("imaging torrent");
    std::string image, out;
    std::vector<std::string> trackers;
    int piece_kib = torrent::kDefaultPieceSize >> 10;
    app.add_option("IMAGEDIR", image, "image directory (from imaging pack)")->required();
    app.add_option("--tracker", trackers, "announce URL (repeat for more), e.g. http://server:6969/announce")->required();
    app.add_option("--out", out, "where to write the .torrent")->required();
    app.add_option("--piece-size", piece_kib, "piece size in KiB (power of two, >= 16)")->capture_default_str();
    PARSE_OR_RETURN(app, argc, argv);

    torrent::TorrentOptions options{.trackers = trackers, .piece_size = piece_kib << 10};
    auto bytes = torrent::make_image_torrent(image, options);
    if (!bytes) return fail(bytes.status().message());
    auto parsed = torrent::load_image_torrent_unverified(*bytes);
    if (!parsed) return fail(parsed.status().message());
    std::ofstream file(out, std::ios::binary | std::ios::trunc);
    file.write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
    file.close();
    if (!file) return fail("writing " + out + ": " + std::strerror(errno));
    print_result_line({{"torrent", out},
                       {"info_hash", parsed->info_hash_hex()},
                       {"pieces", parsed->info->num_pieces()},
                       {"piece_size", parsed->info->piece_length()},
                       {"pack_bytes", parsed->manifest.pack_size},
                       {"image", parsed->manifest.name},
                       {"version", parsed->manifest.version}});
    return 0;
}

}  // namespace imaging::tool
