// `imaging receive --transport torrent`: a host of the swarm (imaging/torrent/receiver.h).
#include <CLI/CLI.hpp>
#include <sys/stat.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <iostream>

#include "commands.h"
#include "imaging/http/client.h"
#include "imaging/progress.h"
#include "imaging/signing.h"
#include "imaging/torrent/image_torrent.h"
#include "imaging/torrent/peer_certs.h"
#include "imaging/torrent/receiver.h"

namespace imaging::tool {
namespace {

std::atomic<bool> g_receive_stop{false};
void on_receive_signal(int) { g_receive_stop = true; }

Result<std::vector<char>> fetch_torrent(const std::string& source) {
    if (!source.starts_with("http://")) return torrent::read_torrent_file(source);
    auto got = http::http_get(source, std::chrono::seconds(30), 64 << 20);
    if (!got.ok) return Status::error("fetching the torrent: " + got.error);
    return std::vector<char>(got.body.begin(), got.body.end());
}

// Beside a regular-file output (same filesystem, cleaned up with it); under /var/tmp for a
// block device, named by torrent and device so that a rerun on the same device resumes and
// two devices imaged on one machine never share a pack.
std::filesystem::path default_staging(const std::filesystem::path& output,
                                      const torrent::ImageTorrent& t) {
    struct stat st {};
    if (::stat(output.c_str(), &st) == 0 && S_ISBLK(st.st_mode)) {
        return std::filesystem::path("/var/tmp") / ("imaging-torrent-" + t.info_hash_hex().substr(0, 16) + "-" +
                                                     output.filename().string());
    }
    auto parent = output.has_parent_path() ? output.parent_path() : std::filesystem::path(".");
    return parent / ("." + output.filename().string() + ".torrent-staging");
}

double unix_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

int receive_torrent(int argc, char** argv) {
    CLI::App app{"Receive an image through a BitTorrent swarm: download the compressed pack from "
                 "the seed and the other hosts, write each chunk once verified against the "
                 "signed manifest, then keep seeding for --seed-for seconds."};
    app.name("imaging receive --transport torrent");
    std::string transport, source, output, pubkey, staging;
    int seed_for = 0, stall = 120;
    torrent::ReceiveOptions opt;
    opt.session.listen = "0.0.0.0:6881";
    app.add_option("--transport", transport, "torrent")->required();
    app.add_option("--torrent", source, "the .torrent: a file or an http:// URL")->required();
    app.add_option("--output", output, "file or block device to write")->required();
    app.add_option("--pubkey", pubkey, "Ed25519 public key the manifest must be signed with")->required();
    app.add_option("--listen", opt.session.listen, "ADDR:PORT for peer connections (port 0: any)")->capture_default_str();
    app.add_option("--seed-for", seed_for, "seconds to keep seeding once the image is verified")->capture_default_str();
    app.add_option("--staging", staging, "directory for the receive's lock, and for the compressed pack when it is not held in memory: with --keep-staging, a pack already there (resumed), or one over half the available memory (default: beside the output)");
    app.add_flag("--keep-staging", opt.keep_staging, "write the pack to --staging, not memory, and keep it afterwards (resume, or seed again)");
    // libtorrent counts a host's own requests and HAVEs against its upload limit: under about
    // 50 kB/s the requests for a LAN's download rate queue up behind it and the download
    // stalls (20 kB/s: nothing for 20 s), so a limit that low is refused.
    app.add_option("--upload-limit", opt.session.upload_rate_limit,
                   "bytes/s to other hosts, 0: none, else at least 100000 (this host's own requests count against it)")
        ->capture_default_str()
        ->check([](const std::string& value) -> std::string {
            long long limit = 0;
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), limit);
            if (ec != std::errc() || end != value.data() + value.size() || limit == 0 ||
                limit >= 100000)
                return "";  // not a number: the option's own conversion says so
            return "--upload-limit " + value +
                   " is too low: libtorrent counts this host's own requests against it, and "
                   "under about 50000 the download stalls; use 0 (none) or at least 100000";
        });
    app.add_option("--stall-timeout", stall, "fail after this many seconds without data")->capture_default_str();
    std::string peer_cert;
    app.add_option("--peer-cert", peer_cert,
                   "file (mode 0600) holding this host's PEM certificate and key, signed by the "
                   "torrent's CA: needed for an SSL torrent (its job's), refused for an open one");
    ManifestPin expect;
    add_pin_options(app, expect);
    bool progress_json = false;
    add_progress_json_flag(app, progress_json,
                           "stored (compressed) bytes of the image's pack, downloaded");
    PARSE_OR_RETURN(app, argc, argv);

    auto key = VerifyKey::load(pubkey);
    if (!key) return fail(key.status().message());
    auto bytes = fetch_torrent(source);
    if (!bytes) return fail(bytes.status().message());
    auto parsed = torrent::load_image_torrent(*bytes, *key);
    if (!parsed) return fail(parsed.status().message());
    if (Status s = expect.check(parsed->manifest); !s) return fail("the torrent's manifest: " + s.message());
    if (!peer_cert.empty()) {
        auto pem = torrent::read_peer_cert_file(peer_cert);
        if (!pem) return fail("--peer-cert: " + pem.status().message());
        opt.peer_pem = std::move(*pem);
    }

    opt.output = output;
    opt.staging_dir = staging.empty() ? default_staging(output, *parsed) : std::filesystem::path(staging);
    bool made_staging = !std::filesystem::exists(opt.staging_dir);
    opt.seed_for = std::chrono::seconds(seed_for);
    opt.stall_timeout = std::chrono::seconds(stall);
    std::signal(SIGINT, on_receive_signal);
    std::signal(SIGTERM, on_receive_signal);
    std::signal(SIGPIPE, SIG_IGN);
    opt.should_stop = [] { return g_receive_stop.load(); };
    Progress progress("torrent", parsed->manifest.pack_size);
    if (progress_json) progress.emit_json_lines(std::cout);
    opt.progress = &progress;
    const auto& m = parsed->manifest;
    opt.on_verified = [&](const torrent::ReceiveReport& r) {
        print_result_line({{"transport", "torrent"},
                           {"ok", true},
                           {"output", output},
                           {"image", m.name},
                           {"version", m.version},
                           {"bytes_received", r.bytes_received},
                           {"bytes_reused", 0},
                           {"bytes_written", r.bytes_written},
                           {"bytes_from_seed", r.bytes_from_seed},
                           {"bytes_from_peers", r.bytes_from_peers},
                           {"hash_failures", r.hash_failures},
                           {"pieces_hashed", r.pieces_hashed},
                           {"chunks", r.chunks},
                           {"seconds", r.seconds},
                           {"sha256", to_hex(r.sha256)},
                           {"unix_time", unix_now()}});
        if (seed_for > 0) std::cerr << "torrent: verified; seeding for " << seed_for << " s" << std::endl;
    };
    auto report = torrent::run_receive(*parsed, opt);
    progress.finish();
    if (made_staging && !opt.keep_staging) {
        std::error_code ec;
        std::filesystem::remove(opt.staging_dir, ec);  // only if empty
    }
    if (!report) return fail(report.status().message());
    return 0;
}

}  // namespace imaging::tool
