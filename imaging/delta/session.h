// One receiver's conversation with the delta server (see server.h).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "block_signature.h"
#include "framed_stream.h"
#include "handshake_auth.h"
#include "imaging/manifest.h"
#include "imaging/packed_image.h"
#include "server.h"

namespace imaging::delta {

// What one receiver may ask of the server. A receiver asks for each chunk's signature once
// and each chunk once (and a chunk again, whole, when its blocks did not add up), in
// signature requests of at most kSignatureBatch (plan.cc) chunks: these bounds are twice that
// and leave an honest receiver untouched, while no request, and no session, can make the
// server read, hold or send more than about twice the image.
inline constexpr std::uint32_t kMaxSignatureChunksPerRequest = 4096;
inline constexpr std::size_t kMaxSignatureReplyBytes = 64u << 20;
inline constexpr std::uint32_t kMaxRangesPerItem = 1u << 16;

// Checks a decoded kWant against the image: every chunk in range and named at most once, every
// range inside its chunk, at most kMaxRangesPerItem ranges and at most the chunk's length in
// all per item. The error says which rule was broken.
Status check_want(const std::vector<WantItem>& items, const Manifest& manifest);

// Counts what a session has been given; over budget, the session is refused.
class SessionBudget {
public:
    explicit SessionBudget(std::size_t chunk_count)
        : max_chunks_(2 * std::uint64_t(chunk_count) + 16), max_requests_(2 * std::uint64_t(chunk_count) + 64) {}
    Status request();                          // one more message from the receiver
    Status signatures(std::uint64_t chunks);   // signatures of this many more chunks
    Status answers(std::uint64_t chunks);      // this many more chunks sent (frames or literals)

private:
    std::uint64_t max_chunks_, max_requests_;
    std::uint64_t requests_ = 0, signatures_ = 0, answers_ = 0;
};

class ServerSession {
public:
    // deliveries: where a receipt is recorded (delivery.h); null: acknowledged, not recorded.
    ServerSession(std::unique_ptr<FramedStream> stream, const PackedImage& image,
                  const ImageSignature& signature, const ServeOptions& options,
                  DeliveryLog* deliveries = nullptr);
    ~ServerSession();
    // Runs to the end of the conversation; the error (if any) was also sent to the peer.
    Status run();
    std::uint64_t bytes_sent() const { return stream_->bytes_out(); }
    // The receiver id its hello named ("" when anonymous), and whether its receipt was
    // accepted (and recorded, with a delivery log).
    const std::string& receiver_id() const { return receiver_id_; }
    bool delivered() const { return delivered_; }

private:
    // With a secret: the challenge-response after the hello (handshake_auth.h), whose rest
    // (the client's nonce) `hello` holds. Without one: nothing.
    Status authenticate(ByteReader& hello);
    Status on_signature_request(const Message& m);
    Status on_want(const Message& m);
    // An identified, authenticated receiver's kReceipt: checked, recorded, acknowledged.
    Status on_receipt(const Message& m);
    Status send_literals(const WantItem& item);
    Status send(MsgType type, std::span<const std::uint8_t> body);

    std::unique_ptr<FramedStream> stream_;
    const PackedImage& image_;
    const ImageSignature& signature_;
    const ServeOptions& options_;
    struct Compressor;
    std::unique_ptr<Compressor> compressor_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    SessionBudget budget_;
    DeliveryLog* deliveries_;
    std::string receiver_id_;
    std::optional<Secret> key_;  // the handshake's: the server's secret or the receiver's key
    Nonce client_nonce_{}, server_nonce_{};
    std::vector<bool> answered_;  // chunks sent to this receiver (frames or literals)
    bool delivered_ = false;
};

}  // namespace imaging::delta
