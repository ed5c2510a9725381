// `imaging seed`: the server side of a BitTorrent deployment. Seeds an image directory and,
// with --tracker-listen, is also its tracker (GET /announce, rack-aware) and serves the
// torrent at /image.torrent. `imaging tracker`: that tracker on its own, for a seed that may
// leave before the hosts are done (as provisionerd hosts the tracker beside its API).
#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>

#include "commands.h"
#include "imaging/progress.h"
#include "imaging/torrent/image_torrent.h"
#include "imaging/torrent/peer_certs.h"
#include "imaging/torrent/seeder.h"
#include "imaging/torrent/tracker_server.h"

namespace imaging::tool {
namespace {

std::atomic<bool> g_seed_stop{false};
void on_seed_signal(int) { g_seed_stop = true; }

Result<torrent::RackMap> parse_racks(const std::vector<std::string>& racks) {
    torrent::RackMap rack_map;
    for (const auto& r : racks) {
        auto eq = r.find('=');
        if (eq == std::string::npos) return Status::error("--rack wants CIDR=NAME, got '" + r + "'");
        if (Status s = rack_map.add(r.substr(0, eq), r.substr(eq + 1)); !s) return s;
    }
    return rack_map;
}

// The tracker of one torrent, also serving it at /image.torrent, until the result is destroyed.
Result<std::unique_ptr<torrent::TrackerServer>> start_tracker(const char* log_prefix,
                                                              const std::string& listen,
                                                              const torrent::RackMap& racks,
                                                              const torrent::ImageTorrent& parsed,
                                                              std::vector<char> torrent_bytes) {
    auto tracker = std::make_shared<torrent::Tracker>(torrent::TrackerOptions{}, racks);
    tracker->allow(parsed.info_hash);
    auto started = torrent::TrackerServer::start(listen, tracker, std::move(torrent_bytes));
    if (!started) return started.status();
    std::cerr << log_prefix << "tracker on " << (*started)->base_url() << "/announce, torrent at "
              << (*started)->base_url() << torrent::kTorrentPath << std::endl;
    return started;
}

}  // namespace

int cmd_tracker(int argc, char** argv) {
    CLI::App app{"Track a BitTorrent swarm (GET /announce, compact peer lists preferring the "
                 "requester's rack) and serve its torrent at /image.torrent, apart from the "
                 "seed so that the hosts still find each other once it has left. Runs until "
                 "SIGINT/SIGTERM."};
    app.name("imaging tracker");
    std::string listen, torrent_file;
    std::vector<std::string> racks;
    app.add_option("--listen", listen, "ADDR:PORT to serve on")->required();
    app.add_option("--torrent", torrent_file, "the .torrent (from imaging torrent) to track and serve")->required();
    app.add_option("--rack", racks, "CIDR=NAME: hosts in CIDR are rack NAME (default: same /24)");
    PARSE_OR_RETURN(app, argc, argv);

    auto rack_map = parse_racks(racks);
    if (!rack_map) return fail(rack_map.status().message());
    auto bytes = torrent::read_torrent_file(torrent_file);
    if (!bytes) return fail(bytes.status().message());
    auto parsed = torrent::load_image_torrent_unverified(*bytes);
    if (!parsed) return fail(parsed.status().message());
    std::signal(SIGINT, on_seed_signal);
    std::signal(SIGTERM, on_seed_signal);
    std::signal(SIGPIPE, SIG_IGN);
    auto server = start_tracker("", listen, *rack_map, *parsed, std::move(*bytes));
    if (!server) return fail(server.status().message());
    while (!g_seed_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    server->reset();
    print_result_line({{"role", "tracker"}, {"ok", true}, {"info_hash", parsed->info_hash_hex()}});
    return 0;
}

int cmd_seed(int argc, char** argv) {
    CLI::App app{"Seed an image to `imaging receive --transport torrent` hosts; with "
                 "--tracker-listen, also be their tracker, preferring peers in the same rack. "
                 "Runs until SIGINT/SIGTERM (or --leave-when-distributed) and prints one JSON line."};
    app.name("imaging seed");
    std::string image, torrent_file, tracker_listen;
    std::vector<std::string> trackers, racks;
    torrent::SeedOptions opt;
    int piece_kib = torrent::kDefaultPieceSize >> 10;
    app.add_option("--image", image, "image directory (from imaging pack)")->required();
    app.add_option("--listen", opt.session.listen, "ADDR:PORT for peer connections")->required();
    app.add_option("--torrent", torrent_file, "the image's .torrent (default: made from the image)");
    app.add_option("--tracker", trackers, "announce URL(s) when the torrent is made here");
    app.add_option("--tracker-listen", tracker_listen, "ADDR:PORT to serve the tracker and /image.torrent on");
    app.add_option("--rack", racks, "CIDR=NAME: hosts in CIDR are rack NAME (default: same /24)");
    app.add_option("--piece-size", piece_kib, "piece size in KiB when the torrent is made here")->capture_default_str();
    app.add_option("--upload-limit", opt.session.upload_rate_limit, "bytes/s, 0: none")->capture_default_str();
    app.add_option("--upload-slots", opt.session.upload_slots, "hosts served at once (the others fetch from each other)")
        ->capture_default_str()
        ->check(CLI::Range(1, 1000));
    app.add_flag("--super-seed", opt.super_seed, "super-seeding: offer each host only pieces no other host holds, uploading about one copy in all (hosts running `imaging receive` take the offers; other clients see a plain seed)");
    app.add_flag("--leave-when-distributed", opt.leave_when_distributed,
                 "exit once the connected hosts together hold every piece");
    std::string peer_cert, ca_cert;
    app.add_option("--peer-cert", peer_cert,
                   "file (mode 0600) holding the seed's PEM certificate and key, signed by the "
                   "torrent's CA: needed for an SSL torrent, whose peers must hold one too");
    app.add_option("--ca-cert", ca_cert, "the swarm CA's PEM certificate when the torrent is made here (an SSL torrent)");
    PARSE_OR_RETURN(app, argc, argv);
    if (!peer_cert.empty()) {
        auto pem = torrent::read_peer_cert_file(peer_cert);
        if (!pem) return fail("--peer-cert: " + pem.status().message());
        opt.peer_pem = std::move(*pem);
    }
    opt.image_dir = image;

    auto rack_map = parse_racks(racks);
    if (!rack_map) return fail(rack_map.status().message());
    if (!tracker_listen.empty()) {
        auto ep = torrent::parse_endpoint(tracker_listen);
        if (!ep) return fail("--tracker-listen: " + ep.status().message());
        if (ep->port() == 0) return fail("--tracker-listen needs a fixed port (it goes into the torrent)");
        if (trackers.empty() && !ep->address().is_unspecified()) {
            trackers.push_back("http://" + tracker_listen + "/announce");
        }
    }
    if (torrent_file.empty()) {
        if (trackers.empty()) return fail("give --torrent, --tracker or --tracker-listen ADDR:PORT");
        torrent::TorrentOptions made_options{.trackers = trackers, .piece_size = piece_kib << 10};
        if (!ca_cert.empty()) {
            auto pem = torrent::read_torrent_file(ca_cert);
            if (!pem) return fail("--ca-cert: " + pem.status().message());
            made_options.ca_cert_pem.assign(pem->begin(), pem->end());
        }
        auto made = torrent::make_image_torrent(image, made_options);
        if (!made) return fail(made.status().message());
        opt.torrent = std::move(*made);
    } else {
        if (!ca_cert.empty()) return fail("--ca-cert is for a torrent made here; the --torrent given has its own CA, or none");
        auto read = torrent::read_torrent_file(torrent_file);
        if (!read) return fail(read.status().message());
        opt.torrent = std::move(*read);
    }
    auto parsed = torrent::load_image_torrent_unverified(opt.torrent);
    if (!parsed) return fail(parsed.status().message());

    std::unique_ptr<torrent::TrackerServer> tracker_server;
    if (!tracker_listen.empty()) {
        auto started = start_tracker("seed: ", tracker_listen, *rack_map, *parsed, opt.torrent);
        if (!started) return fail(started.status().message());
        tracker_server = std::move(*started);
    }

    std::signal(SIGINT, on_seed_signal);
    std::signal(SIGTERM, on_seed_signal);
    std::signal(SIGPIPE, SIG_IGN);
    opt.should_stop = [] { return g_seed_stop.load(); };
    opt.log = [](const std::string& line) { std::cerr << "seed: " << line << std::endl; };
    auto report = torrent::run_seed(opt);
    if (!report) return fail(report.status().message());
    print_result_line({{"transport", "torrent"},
                       {"role", "seed"},
                       {"ok", true},
                       {"info_hash", parsed->info_hash_hex()},
                       {"pack_bytes", parsed->manifest.pack_size},
                       {"bytes_uploaded", report->bytes_uploaded},
                       {"peers_seen", report->peers_seen},
                       {"reason", report->reason},
                       {"seconds", report->seconds},
                       {"unix_time", report->stopped_unix_time}});
    return 0;
}

}  // namespace imaging::tool
