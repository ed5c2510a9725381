// `imaging torrent`: the .torrent of an image (v1, the signed manifest inside; see
// imaging/torrent/image_torrent.h for what it covers and why); `imaging swarm-ca`: the
// certificates of an SSL torrent's swarm (imaging/torrent/peer_certs.h).
#include <CLI/CLI.hpp>

#include <fstream>
#include <iostream>

#include "commands.h"
#include "imaging/progress.h"
#include "imaging/torrent/image_torrent.h"
#include "imaging/torrent/peer_certs.h"

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
    std::string ca_cert;
    app.add_option("--ca-cert", ca_cert,
                   "PEM certificate of the swarm's CA: an SSL torrent, whose peers talk TLS and must "
                   "each present a certificate it signed (default: an open swarm)");
    PARSE_OR_RETURN(app, argc, argv);

    torrent::TorrentOptions options{.trackers = trackers, .piece_size = piece_kib << 10};
    if (!ca_cert.empty()) {
        auto pem = torrent::read_torrent_file(ca_cert);  // a small public file
        if (!pem) return fail("--ca-cert: " + pem.status().message());
        options.ca_cert_pem.assign(pem->begin(), pem->end());
    }
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
                       {"ssl", !parsed->ca_cert_pem.empty()},
                       {"pack_bytes", parsed->manifest.pack_size},
                       {"image", parsed->manifest.name},
                       {"version", parsed->manifest.version}});
    return 0;
}

int cmd_swarm_ca(int argc, char** argv) {
    CLI::App app{"Make the certificates of an SSL torrent's swarm: a new CA (DIR/ca.pem, for "
                 "imaging torrent --ca-cert) and, for each NAME, a certificate and key it signed "
                 "(DIR/NAME.pem, mode 0600, for --peer-cert). The CA's key is not kept: no "
                 "certificate can be added to this swarm later."};
    app.name("imaging swarm-ca");
    std::string dir;
    std::vector<std::string> names;
    app.add_option("DIR", dir, "directory to write into (created)")->required();
    app.add_option("NAME", names, "a peer: seed, host-1, ...")->required();
    PARSE_OR_RETURN(app, argc, argv);

    for (const auto& name : names) {
        if (name.empty() || name == "ca" || name.find('/') != std::string::npos || name[0] == '.')
            return fail("'" + name + "' cannot name a peer's file");
    }
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail(dir + ": " + ec.message());
    auto ca = torrent::make_swarm_ca(std::filesystem::path(dir).filename().string());
    if (!ca) return fail(ca.status().message());
    std::ofstream out(std::filesystem::path(dir) / "ca.pem", std::ios::binary | std::ios::trunc);
    out << ca->cert_pem;
    out.close();
    if (!out) return fail("writing " + dir + "/ca.pem: " + std::strerror(errno));
    for (const auto& name : names) {
        auto peer = torrent::issue_peer_cert(*ca, name);
        if (!peer) return fail(peer.status().message());
        if (Status s = torrent::write_peer_cert_file(std::filesystem::path(dir) / (name + ".pem"), *peer); !s)
            return fail(s.message());
    }
    print_result_line({{"ca", dir + "/ca.pem"}, {"peers", names.size()}});
    return 0;
}

}  // namespace imaging::tool
