// serve and receive --transport delta.
#include <CLI/CLI.hpp>

#include <csignal>
#include <iostream>

#include "commands.h"
#include "imaging/progress.h"
#include "receiver.h"
#include "secret_option.h"
#include "server.h"

namespace imaging::tool {

int cmd_serve(int argc, char** argv) {
    CLI::App app{"Serve an image to delta receivers over TCP. Block signatures are computed once "
                 "and cached in IMAGEDIR/delta.sig; each receiver then costs only what it is sent."};
    app.name("imaging serve");
    delta::ServeOptions opt;
    std::string image;
    int idle = 120;
    app.add_option("--image", image, "image directory (from imaging pack)")->required();
    app.add_option("--listen", opt.listen, "ADDR:PORT to listen on, e.g. the provisioning interface's address (0.0.0.0: every address; port 0: any free port)")->required();
    app.add_option("--max-sessions", opt.max_sessions, "concurrent receivers")->capture_default_str();
    app.add_option("--max-sessions-per-peer", opt.max_sessions_per_peer, "concurrent receivers from one address")->capture_default_str();
    app.add_option("--literal-level", opt.literal_level, "zstd level for literal ranges")->capture_default_str()->check(CLI::Range(1, 19));
    app.add_option("--idle-timeout", idle, "seconds a receiver may stay silent")->capture_default_str();
    app.add_option("--rate-limit", opt.rate_limit, "bytes per second per receiver (0: no limit)")->capture_default_str();
    std::string secret_file;
    add_secret_option(app, secret_file);
    app.add_option("--delivery-log", opt.delivery_log,
                   "file to append one JSON line to for each identified receiver whose receipt "
                   "(all verified and synced, proved with its receiver key) is accepted; needs "
                   "--secret-file");
    PARSE_OR_RETURN(app, argc, argv);
    auto secret = load_secret_option(secret_file);
    if (!secret) return fail(secret.status().message());
    opt.secret = *secret;
    opt.image_dir = image;
    opt.idle_timeout = std::chrono::seconds(idle);
    std::signal(SIGPIPE, SIG_IGN);
    auto server = delta::DeltaServer::start(opt);
    if (!server) return fail(server.status().message());
    // A script waits for this line before it starts receivers.
    std::cerr << "serve: " << image << " on port " << (*server)->port() << std::endl;
    (*server)->run();
    return 0;
}

int receive_delta(int argc, char** argv) {
    CLI::App app{"Receive an image from `imaging serve`, reusing what the output (or --basis) "
                 "already holds: rolling-checksum matching at any offset, only the rest is fetched, "
                 "zstd-compressed. Every chunk is verified against the signed manifest before it "
                 "is written; an interrupted receive resumes where it stopped."};
    app.name("imaging receive --transport delta");
    delta::ReceiveOptions opt;
    std::string transport, output, pubkey, basis;
    int timeout = 60;
    app.add_option("--transport", transport, "delta")->required();
    app.add_option("--from", opt.server, "ADDR:PORT of imaging serve")->required();
    app.add_option("--output", output, "file or block device to write")->required();
    app.add_option("--basis", basis, "an older image to reuse (default: the output itself)");
    app.add_option("--pubkey", pubkey, "Ed25519 public key the manifest must be signed with")->required();
    app.add_option("--timeout", timeout, "seconds to wait for the server on any step")->capture_default_str();
    app.add_option("--threads", opt.threads, "assembly threads (0: one per core)")->capture_default_str();
    app.add_flag("--verbose", opt.verbose, "print how long each phase took");
    add_pin_options(app, opt.expect);
    bool progress_json = false;
    add_progress_json_flag(app, progress_json,
                           "raw (uncompressed) bytes of the image's non-zero chunks, reused or "
                           "fetched");
    std::string secret_file;
    add_secret_option(app, secret_file);
    app.add_option("--receiver-id", opt.receiver_id,
                   "this receiver's id; --secret-file then holds its receiver key, and the server "
                   "must confirm the delivery once everything is verified (proof of receipt)");
    PARSE_OR_RETURN(app, argc, argv);
    auto secret = load_secret_option(secret_file);
    if (!secret) return fail(secret.status().message());
    opt.secret = *secret;
    if (!opt.receiver_id.empty() && !opt.secret) return fail("--receiver-id needs --secret-file");
    opt.output = output;
    opt.pubkey = pubkey;
    if (!basis.empty()) opt.basis = std::filesystem::path(basis);
    opt.timeout = std::chrono::seconds(timeout);
    std::signal(SIGPIPE, SIG_IGN);
    Progress progress("delta", 0);
    if (progress_json) progress.emit_json_lines(std::cout);
    auto report = delta::receive(opt, &progress);
    progress.finish();
    if (!report) return fail(report.status().message());
    print_result_line({{"transport", "delta"},
                       {"ok", true},
                       {"output", output},
                       {"image", report->name},
                       {"version", report->version},
                       {"bytes_received", report->bytes_received},
                       {"bytes_reused", report->bytes_reused},
                       {"bytes_written", report->bytes_written},
                       {"chunks_fetched", report->chunks_fetched},
                       {"chunks_retried", report->chunks_retried},
                       {"seconds", report->seconds},
                       {"delivery_confirmed", report->delivery_confirmed},
                       {"sha256", to_hex(report->sha256)}});
    return 0;
}

}  // namespace imaging::tool
