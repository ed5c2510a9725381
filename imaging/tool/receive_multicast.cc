// `imaging receive --transport multicast`: join a multicast session, verify every chunk
// against the signed manifest, write the image (multicast/PROTOCOL.md).
#include <CLI/CLI.hpp>
#include <iostream>
#include <random>
#include <thread>

#include "commands.h"
#include "imaging/delivery.h"
#include "imaging/digest.h"
#include "imaging/manifest.h"
#include "imaging/progress.h"
#include "imaging/signing.h"
#include "multicast/chunk_writer.h"
#include "multicast/session_loop.h"
#include "multicast/udp_multicast_socket.h"
#include "multicast_options.h"
#include "secret_option.h"

namespace imaging::tool {

using namespace imaging::multicast;

int receive_multicast(int argc, char** argv) {
    CLI::App app{
        "Receive an image from `imaging send --transport multicast`; exits 0 only when "
        "every chunk is verified against the signed manifest and written."};
    app.name("imaging receive --transport multicast");
    std::string transport, output, pubkey;
    SocketOptions sock;
    double timeout = 15;
    bool verbose = false;
    app.add_option("--transport", transport, "multicast")->required();
    app.add_option("--interface", sock.interface, "network interface to listen on")->required();
    app.add_option("--output", output, "file or block device to write")->required();
    app.add_option("--pubkey", pubkey, "Ed25519 public key that signed the manifest")->required();
    app.add_option("--group", sock.group, "IPv4 multicast group")->capture_default_str();
    app.add_option("--port", sock.port, "UDP port")->capture_default_str();
    app.add_option("--timeout", timeout,
                   "give up when no session is heard, or the sender is silent, this many seconds")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_flag("--verbose", verbose, "log session events on stderr");
    ManifestPin expect;
    add_pin_options(app, expect);
    bool progress_json = false;
    add_progress_json_flag(app, progress_json,
                           "raw (uncompressed) bytes of the image's non-zero chunks, verified "
                           "and written");
    std::string secret_file, receiver_id, receipt_key_file;
    add_secret_option(app, secret_file);
    app.add_option("--receiver-id", receiver_id,
                   "this receiver's id: once the image is verified it proves receipt to the "
                   "sender with the key in --receipt-key-file, and waits for its acknowledgement");
    app.add_option("--receipt-key-file", receipt_key_file,
                   "file (0600, 64 hex digits) holding this receiver's receipt key");
    PARSE_OR_RETURN(app, argc, argv);
    auto secret = load_secret_option(secret_file);
    if (!secret) return fail(secret.status().message());
    std::optional<Secret> receipt_key;
    if (receiver_id.empty() != receipt_key_file.empty())
        return fail("--receiver-id and --receipt-key-file go together");
    if (!receiver_id.empty()) {
        if (!valid_receiver_id(receiver_id))
            return fail("--receiver-id: 1 to 64 of A-Z a-z 0-9 . _ : / -");
        auto key = read_secret_file(receipt_key_file);
        if (!key) return fail(key.status().context("--receipt-key-file").message());
        receipt_key = *key;
    }

    auto key = VerifyKey::load(pubkey);
    if (!key) return fail(key.status().message());
    auto socket = UdpMulticastSocket::open(sock);
    if (!socket) return fail(socket.status().message());

    Clock& clock = base::real_clock();
    std::random_device rd;
    ReceiverConfig config;
    do config.receiver_id = rd();
    while (config.receiver_id == 0);
    config.seed = (std::uint64_t(rd()) << 32) | rd();
    config.secret = *secret;
    config.receipt_id = receiver_id;
    config.receipt_key = receipt_key;
    config.silence_timeout =
        std::chrono::duration_cast<Duration>(std::chrono::duration<double>(timeout));

    Progress progress("multicast", 0);
    if (progress_json) progress.emit_json_lines(std::cout);
    unsigned threads = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
    ChunkWriter writer(output, threads, [&](std::uint64_t bytes) { progress.advance(bytes); });
    auto check = [&](std::span<const std::uint8_t> bytes) -> Result<Manifest> {
        auto m = Manifest::parse(
            std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
        if (!m) return m.status().context("manifest");
        if (Status s = m->verify_signature(*key); !s) return s.context("manifest");
        if (Status s = expect.check(*m); !s) return s.context("manifest");
        progress.set_total(m->nonzero_raw_bytes());
        return m;
    };
    auto log = [verbose](const std::string& line) {
        if (verbose) std::cerr << "imaging receive: " << line << "\n";
    };
    ReceiverEngine engine(config, **socket, clock, check, writer, log);
    auto start = clock.now();
    Status s = run_receiver(engine, **socket, stop_on_signals());
    progress.finish();
    const ReceiverStats& st = engine.stats();
    bool ok = s.is_ok() && engine.complete();
    nlohmann::json result{{"transport", "multicast"},
                          {"ok", ok},
                          {"bytes_received", st.bytes_received},
                          {"bytes_reused", 0},
                          {"bytes_written", st.bytes_written},
                          {"seconds", std::chrono::duration<double>(clock.now() - start).count()},
                          {"sha256", ok ? to_hex(engine.manifest()->image_sha256) : ""},
                          {"packets_received", st.packets_received},
                          {"repairs_asked", st.repairs_asked},
                          {"nacks_sent", st.nacks_sent},
                          {"nacks_suppressed", st.nacks_suppressed},
                          {"absorb_sent", st.absorb_sent},
                          {"duplicates", st.duplicates},
                          {"rejected_packets", st.rejected},
                          {"unauthenticated_packets", st.unauthenticated},
                          {"chunks_failed", st.chunks_failed},
                          {"parity_recovered", st.parity_recovered},
                          {"delivery_confirmed", st.delivery_confirmed},
                          {"session", engine.session()}};
    if (!ok) result["error"] = s.is_ok() ? "incomplete" : s.message();
    print_result_line(result);
    if (!ok)
        return fail("receive: " +
                    (s.is_ok() ? std::string("the image is incomplete") : s.message()));
    return 0;
}

}  // namespace imaging::tool
