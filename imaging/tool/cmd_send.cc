// `imaging send --transport multicast`: offer an image to every receiver on a LAN segment at
// once (multicast/PROTOCOL.md).
#include <CLI/CLI.hpp>
#include <iostream>
#include <random>

#include "commands.h"
#include "imaging/delivery.h"
#include "imaging/digest.h"
#include "imaging/progress.h"
#include "multicast/mapped_image.h"
#include "multicast/session_loop.h"
#include "multicast/udp_multicast_socket.h"
#include "multicast_options.h"
#include "secret_option.h"

namespace imaging::tool {

using namespace imaging::multicast;

int cmd_send(int argc, char** argv) {
    CLI::App app{
        "Send an image to many hosts at once over UDP multicast, repairing what each "
        "receiver reports missing (NACKs). Prints one JSON line when the session ends."};
    app.name("imaging send");
    std::string transport = "multicast", image_dir, rate_text;
    SocketOptions sock;
    SenderConfig config;
    double max_wait = 30, receiver_timeout = 5, linger = 0;
    app.add_option("--transport", transport, "transport (multicast)")->capture_default_str();
    app.add_option("--image", image_dir, "image directory (manifest.json, chunks.pack)")
        ->required();
    app.add_option("--interface", sock.interface, "network interface to send on")->required();
    app.add_option("--group", sock.group, "IPv4 multicast group")->capture_default_str();
    app.add_option("--port", sock.port, "UDP port")->capture_default_str();
    app.add_option("--min-receivers", config.min_receivers,
                   "start once this many receivers joined (0: wait --max-wait)")
        ->capture_default_str();
    app.add_option("--max-wait", max_wait, "start after this many seconds however many joined")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--max-rate", rate_text, "rate ceiling in bits/s (e.g. 800M, 2G); default 10G");
    app.add_option("--receiver-timeout", receiver_timeout,
                   "drop a receiver silent for this many seconds")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    app.add_option("--linger", linger,
                   "once every receiver is done, keep offering the image this many seconds "
                   "for late joiners")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    std::string secret_file, receipt_secret_file, delivery_log;
    add_secret_option(app, secret_file);
    app.add_option("--receipt-secret-file", receipt_secret_file,
                   "file (0600, 64 hex digits) of the secret receivers' receipt keys derive from "
                   "(proof of receipt): a receiver then counts as done only once its receipt "
                   "verifies; never give it to receivers");
    app.add_option("--delivery-log", delivery_log,
                   "file to append one JSON line to for each receiver whose receipt verified; "
                   "needs --receipt-secret-file");
    PARSE_OR_RETURN(app, argc, argv);
    auto secret = load_secret_option(secret_file);
    if (!secret) return fail(secret.status().message());
    config.secret = *secret;
    if (!receipt_secret_file.empty()) {
        auto receipt = read_secret_file(receipt_secret_file);
        if (!receipt) return fail(receipt.status().context("--receipt-secret-file").message());
        config.receipt_secret = *receipt;
    }
    if (!delivery_log.empty() && !config.receipt_secret)
        return fail("--delivery-log needs --receipt-secret-file");
    if (transport != "multicast")
        return fail("send: unknown transport '" + transport + "' (multicast)");
    if (!rate_text.empty()) {
        auto rate = parse_bits_per_second(rate_text);
        if (!rate) return fail("--max-rate: '" + rate_text + "' is not a rate (e.g. 800M)");
        config.rate.max_bps = *rate;
        config.rate.min_bps = std::min(config.rate.min_bps, *rate);
    }

    auto image = MappedImage::open(image_dir);
    if (!image) return fail(image.status().message());
    auto socket = UdpMulticastSocket::open(sock);
    if (!socket) return fail(socket.status().message());
    int mtu = (*socket)->mtu();
    if (mtu < 576) return fail(sock.interface + ": MTU " + std::to_string(mtu) + " is too small");
    config.fragment_payload = std::uint32_t(std::min<int>(mtu, int(kMaxDatagram)) -
                                            int(kIpUdpOverhead) - int(kDataHeaderSize));
    std::random_device rd;
    do config.session = rd();
    while (config.session == 0);
    config.max_wait = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(max_wait));
    config.linger = std::chrono::duration_cast<Duration>(std::chrono::duration<double>(linger));
    config.receiver_timeout =
        std::chrono::duration_cast<Duration>(std::chrono::duration<double>(receiver_timeout));

    Clock& clock = base::real_clock();
    const Manifest& m = (*image)->manifest();
    config.image_sha256 = m.image_sha256;
    std::unique_ptr<DeliveryLog> deliveries;
    if (!delivery_log.empty()) {
        auto opened = DeliveryLog::open(delivery_log);
        if (!opened) return fail(opened.status().message());
        deliveries = std::move(*opened);
        config.on_receipt = [&](const std::string& id, const Endpoint& from) {
            Delivery d;
            d.receiver = id;
            d.transport = "multicast";
            d.image_sha256 = to_hex(m.image_sha256);
            d.peer = std::to_string(from.address >> 24) + "." +
                     std::to_string((from.address >> 16) & 255) + "." +
                     std::to_string((from.address >> 8) & 255) + "." +
                     std::to_string(from.address & 255) + ":" + std::to_string(from.port);
            d.chunks_total = m.chunks.size();
            return deliveries->append(d);
        };
    }
    SenderEngine engine(config, (*image)->objects(), **socket, clock, [](const std::string& line) {
        std::cerr << "imaging send: " << line << "\n";
    });
    std::cerr << "imaging send: session " << config.session << " on " << sock.group << ":"
              << sock.port << " via " << sock.interface << ": " << m.name << " " << m.version
              << ", " << human_bytes(double(m.stored_bytes())) << " compressed, waiting for "
              << config.min_receivers << " receiver(s) up to " << max_wait << " s\n";
    auto start = clock.now();
    Status s = run_sender(engine, **socket, stop_on_signals());
    const SenderStats& st = engine.stats();
    print_result_line({{"transport", "multicast"},
                       {"role", "sender"},
                       {"ok", s.is_ok()},
                       {"session", config.session},
                       {"image_sha256", to_hex(m.image_sha256)},
                       {"stored_bytes", m.stored_bytes()},
                       {"bytes_sent", st.bytes_sent},
                       {"datagrams_sent", st.datagrams_sent},
                       {"data_fragments", st.data_fragments},
                       {"repair_fragments", st.repair_fragments},
                       {"parity_packets", st.parity_packets},
                       {"proactive_parity", st.proactive_parity},
                       {"nacks_received", st.nacks_received},
                       {"absorb_reports", st.absorb_reports},
                       {"lowest_absorb_bps", st.lowest_absorb_bps},
                       {"rejected_packets", st.rejected},
                       {"unauthenticated_packets", st.unauthenticated},
                       {"receivers_joined", st.receivers_joined},
                       {"receivers_completed", st.receivers_completed},
                       {"receivers_dropped", st.receivers_dropped},
                       {"receipts", st.receipts},
                       {"final_rate_bps", st.final_rate_bps},
                       {"seconds", std::chrono::duration<double>(clock.now() - start).count()}});
    if (!s) return fail("send: " + s.message());
    return 0;
}

}  // namespace imaging::tool
