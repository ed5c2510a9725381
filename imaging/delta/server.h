// `imaging serve`: serves one image to delta receivers over TCP.
//
// The conversation (messages in wire.h, the whole protocol in PROTOCOL.md):
//   client kHello -> server kManifest (signed JSON; the client checks it with its public key)
//   (with a secret, kHello carries the client's nonce and kChallenge / kAuth come between:
//   handshake_auth.h)
//   client kSigRequest(chunks) -> server kSigReply   (block sums of chunks the client lacks)
//   client kWant(items) -> server one kFrame or kLiterals per item, in order
//   ... more requests ..., client kDone.
// The server's work per receiver is reading and sending what was asked: block signatures are
// computed once per image (ImageSignature), literals are compressed as they go out.
//
// Bounds, so that a hostile peer on the LAN costs a bounded amount and never disturbs other
// sessions: it listens only on the address it is given; at most max_sessions receivers at once
// and max_sessions_per_peer from one address (more are sent an error and closed); a request's
// body is at most kMaxRequestBody and is read in steps (wire.h); a receiver silent for
// idle_timeout, or slower than that to finish one message, is dropped; each request and each
// session is held to what an honest receiver asks (session.h). A refusal ends that session only.
#pragma once

#include <utility>  // before Asio: Boost 1.74 uses std::exchange without it
#include <boost/asio.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "block_signature.h"
#include "imaging/delivery.h"
#include "imaging/packed_image.h"
#include "imaging/secret.h"
#include "imaging/status.h"

namespace imaging::delta {

struct ServeOptions {
    std::filesystem::path image_dir;
    std::string listen;            // ADDR:PORT; port 0 picks a free one
    unsigned max_sessions = 64;    // more concurrent receivers are turned away with an error
    unsigned max_sessions_per_peer = 16;  // likewise, from one IP address; 0: no such limit
    int literal_level = 6;         // zstd level for literal ranges
    std::chrono::seconds idle_timeout{120};
    // From the connection to a receiver that has said hello and (with a secret) proved it:
    // short, so that connections that never speak hold a session slot briefly, not for
    // idle_timeout (test_hostile_lan kept every slot with 64 silent connections).
    std::chrono::seconds handshake_timeout{10};
    std::uint64_t rate_limit = 0;  // bytes per second per receiver; 0: as fast as the link goes
    // With a secret, a receiver must prove it holds it (handshake_auth.h) before it is sent
    // the manifest or anything else; without one, anyone who connects is served.
    std::optional<Secret> secret;
    // With a secret: where a receiver's kReceipt is recorded (delivery.h); empty: receipts are
    // checked and acknowledged but recorded nowhere.
    std::filesystem::path delivery_log;
};

class DeltaServer {
public:
    // Opens the image (its structure, not its signature: the server made it), loads or computes
    // the block signatures, binds the listening socket.
    static Result<std::unique_ptr<DeltaServer>> start(const ServeOptions& options);
    ~DeltaServer();

    std::uint16_t port() const;
    // Accepts and serves until stop(); each receiver has its own thread.
    void run();
    // Safe from any thread.
    void stop();

private:
    DeltaServer(ServeOptions options, std::shared_ptr<PackedImage> image, ImageSignature signature);
    void accept_next();
    void hand_off(boost::asio::ip::tcp::socket socket);
    void serve_one(boost::asio::ip::tcp protocol, int fd);
    // Takes a session slot for `peer`; the error says which limit is reached.
    Status admit(const boost::asio::ip::address& peer);
    void release(const boost::asio::ip::address& peer);

    ServeOptions options_;
    std::shared_ptr<PackedImage> image_;
    ImageSignature signature_;
    std::unique_ptr<DeliveryLog> deliveries_;  // from options_.delivery_log, if any
    boost::asio::io_context io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::mutex mu_;  // guards active_ and per_peer_
    unsigned active_ = 0;
    std::map<boost::asio::ip::address, unsigned> per_peer_;
};

}  // namespace imaging::delta
