#include "session.h"

#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <thread>

namespace imaging::delta {

Status check_want(const std::vector<WantItem>& items, const Manifest& manifest) {
    const std::size_t chunks = manifest.chunks.size();
    if (items.size() > chunks)
        return Status::error("want names " + std::to_string(items.size()) + " chunks, the image has " +
                             std::to_string(chunks));
    std::vector<bool> named(chunks, false);
    for (const auto& item : items) {
        if (item.chunk >= chunks) return Status::error("want for chunk " + std::to_string(item.chunk) + " out of range");
        if (named[item.chunk]) return Status::error("want names chunk " + std::to_string(item.chunk) + " twice");
        named[item.chunk] = true;
        if (item.whole_frame) continue;
        if (item.ranges.size() > kMaxRangesPerItem)
            return Status::error("want for chunk " + std::to_string(item.chunk) + " has " +
                                 std::to_string(item.ranges.size()) + " ranges (limit " +
                                 std::to_string(kMaxRangesPerItem) + ")");
        const std::uint64_t len = manifest.chunk_length(item.chunk);
        std::uint64_t total = 0;
        for (auto [off, n] : item.ranges) {
            if (off > len || n > len - off)
                return Status::error("want range outside chunk " + std::to_string(item.chunk));
            total += n;
        }
        if (total > len)
            return Status::error("want for chunk " + std::to_string(item.chunk) + " asks for " + std::to_string(total) +
                                 " bytes of a " + std::to_string(len) + "-byte chunk");
    }
    return Status::ok();
}

Status SessionBudget::request() {
    if (++requests_ > max_requests_)
        return Status::error("too many requests in one session (limit " + std::to_string(max_requests_) + ")");
    return Status::ok();
}

Status SessionBudget::signatures(std::uint64_t chunks) {
    signatures_ += chunks;
    if (signatures_ > max_chunks_)
        return Status::error("signatures of " + std::to_string(signatures_) + " chunks asked in one session (limit " +
                             std::to_string(max_chunks_) + ")");
    return Status::ok();
}

Status SessionBudget::answers(std::uint64_t chunks) {
    answers_ += chunks;
    if (answers_ > max_chunks_)
        return Status::error(std::to_string(answers_) + " chunks asked in one session (limit " +
                             std::to_string(max_chunks_) + ")");
    return Status::ok();
}

struct ServerSession::Compressor {
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ~Compressor() { ZSTD_freeCCtx(cctx); }
};

ServerSession::ServerSession(std::unique_ptr<FramedStream> stream, const PackedImage& image,
                             const ImageSignature& signature, const ServeOptions& options,
                             DeliveryLog* deliveries)
    : stream_(std::move(stream)),
      image_(image),
      signature_(signature),
      options_(options),
      compressor_(std::make_unique<Compressor>()),
      budget_(image.manifest().chunks.size()),
      deliveries_(deliveries),
      answered_(image.manifest().chunks.size(), false) {
    ZSTD_CCtx_setParameter(compressor_->cctx, ZSTD_c_compressionLevel, options.literal_level);
}

ServerSession::~ServerSession() = default;

Status ServerSession::authenticate(ByteReader& hello) {
    if (!options_.secret) return Status::ok();  // a nonce from the client is ignored: it will refuse us
    Nonce client{};
    if (hello.remaining() < kNonceSize) {
        stream_->send_error("this server requires authentication: receive with --secret-file");
        return Status::error("unauthenticated receiver " + stream_->peer() + " refused");
    }
    for (auto& b : client) b = hello.u8();
    Secret key = *options_.secret;
    if (hello.remaining() > 0) {
        // An identified receiver: its secret is receiver_key(ours, id) (delivery.h).
        const std::size_t n = hello.u8();
        auto rest = hello.rest();
        std::string id(rest.begin(), rest.end());
        if (rest.size() != n || !valid_receiver_id(id)) {
            stream_->send_error("malformed receiver id in hello");
            return Status::error("receiver " + stream_->peer() + " sent a malformed id; refused");
        }
        key = receiver_key(key, id);
        receiver_id_ = std::move(id);
    }
    const Nonce server = random_nonce();
    const Mac proof = server_proof(key, client, server);
    ByteWriter w;
    w.bytes(server);
    w.bytes(proof);
    const auto timeout = std::min(options_.idle_timeout, options_.handshake_timeout);
    if (Status s = stream_->send(MsgType::kChallenge, w.data(), timeout); !s) return s;
    auto answer = stream_->receive(timeout, 64);
    if (!answer) return answer.status();
    const Mac expected = client_proof(key, client, server);
    if (answer->type != MsgType::kAuth || !equal_tags(answer->body, expected)) {
        stream_->send_error("authentication failed: the receiver's secret is not this server's");
        return Status::error("receiver " + stream_->peer() +
                             (receiver_id_.empty() ? "" : " (receiver " + receiver_id_ + ")") +
                             " failed authentication; refused");
    }
    key_ = key;
    client_nonce_ = client;
    server_nonce_ = server;
    return Status::ok();
}

Status ServerSession::on_receipt(const Message& m) {
    if (receiver_id_.empty() || !key_)
        return Status::error("a receipt needs an identified, authenticated receiver");
    const Manifest& manifest = image_.manifest();
    if (m.body.size() != 64) return Status::error("malformed receipt");
    const auto sha = std::span(m.body).first(32);
    if (!std::equal(sha.begin(), sha.end(), manifest.image_sha256.begin()))
        return Status::error("the receipt names another image than this server's");
    const Mac expected = receipt_proof(*key_, client_nonce_, server_nonce_, sha);
    if (!equal_tags(std::span(m.body).subspan(32), expected))
        return Status::error("the receipt's proof does not verify; refused");
    // The key and the sha256 are in the receiver's job: whether it holds the image is asked of
    // chunks it cannot know in advance, and nothing is served after this (handshake_auth.h).
    std::vector<std::uint32_t> nonzero;
    for (std::uint32_t i = 0; i < manifest.chunks.size(); ++i)
        if (!manifest.chunks[i].is_zero()) nonzero.push_back(i);
    const Nonce nonce = random_nonce();
    std::vector<std::uint32_t> picked;
    for (std::uint32_t k = 0; k < kPossessionSamples && !nonzero.empty(); ++k) {
        const std::size_t at = (std::size_t(nonce[2 * k]) << 8 | nonce[2 * k + 1]) % nonzero.size();
        picked.push_back(nonzero[at]);
        nonzero.erase(nonzero.begin() + std::ptrdiff_t(at));
    }
    ByteWriter w;
    w.bytes(nonce);
    w.u32(std::uint32_t(picked.size()));
    for (auto c : picked) w.u32(c);
    if (Status s = send(MsgType::kPossessionChallenge, w.data()); !s) return s;
    auto answer = stream_->receive(options_.idle_timeout, 4096);
    if (!answer) return answer.status();
    if (answer->type != MsgType::kPossession || answer->body.size() != picked.size() * 32)
        return Status::error("no answer to the possession check; delivery not confirmed");
    std::vector<std::uint8_t> raw;
    for (std::size_t k = 0; k < picked.size(); ++k) {
        raw.resize(manifest.chunk_length(picked[k]));
        if (Status s = image_.read_chunk(picked[k], raw); !s) return s.context("server image");
        const Mac want = possession_digest(nonce, picked[k], raw);
        if (!equal_tags(std::span(answer->body).subspan(k * 32, 32), want))
            return Status::error("receiver " + receiver_id_ + " does not hold chunk " +
                                 std::to_string(picked[k]) +
                                 " of the image it claims to have received; delivery not confirmed");
    }
    Delivery d;
    d.receiver = receiver_id_;
    d.transport = "delta";
    d.image_sha256 = to_hex(manifest.image_sha256);
    d.peer = stream_->peer();
    d.chunks_sent = std::uint64_t(std::count(answered_.begin(), answered_.end(), true));
    d.chunks_total = manifest.chunks.size();
    d.bytes_sent = stream_->bytes_out();
    if (deliveries_)
        if (Status s = deliveries_->append(d); !s) return s.context("recording the delivery");
    delivered_ = true;
    return send(MsgType::kReceiptAck, {});
}

Status ServerSession::run() {
    const auto timeout = options_.idle_timeout;
    // A hello is magic, version, a nonce and a receiver id: at most 109 bytes.
    auto hello = stream_->receive(std::min(timeout, options_.handshake_timeout), 128);
    if (!hello) {
        stream_->send_error(hello.status().message());  // best effort: a peer that is gone misses it
        return hello.status();
    }
    ByteReader r(hello->body);
    char magic[8];
    for (char& c : magic) c = char(r.u8());
    std::uint32_t version = r.u32();
    if (hello->type != MsgType::kHello || r.failed() || std::memcmp(magic, kHelloMagic, 8) != 0) {
        stream_->send_error("not a delta receiver (bad hello)");
        return Status::error("bad hello from " + stream_->peer());
    }
    if (version != kProtocolVersion) {
        stream_->send_error("protocol version " + std::to_string(version) + " not supported (server speaks " +
                            std::to_string(kProtocolVersion) + ")");
        return Status::error("version mismatch with " + stream_->peer());
    }
    if (Status s = authenticate(r); !s) return s;
    std::string manifest = image_.manifest().to_json();
    if (auto s = stream_->send(MsgType::kManifest,
                               {reinterpret_cast<const std::uint8_t*>(manifest.data()), manifest.size()}, timeout);
        !s)
        return s;
    for (;;) {
        auto m = stream_->receive(timeout, kMaxRequestBody);
        if (!m) {
            stream_->send_error(m.status().message());  // best effort, as above
            return m.status();
        }
        if (m->type == MsgType::kDone) return Status::ok();
        if (delivered_) {
            stream_->send_error("the session is over: its receipt is recorded");
            return Status::error("receiver " + receiver_id_ + " asked for more after its receipt");
        }
        Status s = budget_.request();
        if (s) {
            switch (m->type) {
                case MsgType::kSigRequest: s = on_signature_request(*m); break;
                case MsgType::kWant: s = on_want(*m); break;
                case MsgType::kReceipt: s = on_receipt(*m); break;
                default: s = Status::error("unexpected message type " + std::to_string(int(m->type)));
            }
        }
        if (!s) {
            stream_->send_error(s.message());
            return s;
        }
    }
}

Status ServerSession::on_signature_request(const Message& m) {
    ByteReader r(m.body);
    std::uint32_t n = r.u32();
    if (r.failed() || r.remaining() != std::size_t(n) * 4) return Status::error("malformed signature request");
    if (n > kMaxSignatureChunksPerRequest)
        return Status::error("signature request for " + std::to_string(n) + " chunks (limit " +
                             std::to_string(kMaxSignatureChunksPerRequest) + ")");
    if (auto s = budget_.signatures(n); !s) return s;
    ByteWriter w;
    for (std::uint32_t k = 0; k < n; ++k) {
        std::uint32_t chunk = r.u32();
        if (chunk >= signature_.chunk_count()) return Status::error("signature request for chunk " + std::to_string(chunk) + " out of range");
        const auto& sums = signature_.chunk(chunk);
        w.u32(std::uint32_t(sums.size()));
        for (const auto& b : sums) w.u32(b.weak), w.u64(b.strong);
        if (w.data().size() > kMaxSignatureReplyBytes) return Status::error("signature request too large; ask for fewer chunks");
    }
    return send(MsgType::kSigReply, w.data());
}

Status ServerSession::on_want(const Message& m) {
    auto items = decode_want(m.body);
    if (!items) return items.status();
    const Manifest& manifest = image_.manifest();
    if (auto s = check_want(*items, manifest); !s) return s;
    if (auto s = budget_.answers(items->size()); !s) return s;
    for (const auto& item : *items) {
        if (item.chunk >= manifest.chunks.size()) return Status::error("want for chunk " + std::to_string(item.chunk) + " out of range");
        answered_[item.chunk] = true;
        if (!item.whole_frame) {
            if (auto s = send_literals(item); !s) return s;
            continue;
        }
        auto frame = image_.read_frame(item.chunk);
        if (!frame) return frame.status();
        ByteWriter w;
        w.u32(item.chunk);
        w.bytes(*frame);
        if (auto s = send(MsgType::kFrame, w.data()); !s) return s;
    }
    return Status::ok();
}

Status ServerSession::send_literals(const WantItem& item) {
    const Manifest& manifest = image_.manifest();
    const std::uint32_t len = manifest.chunk_length(item.chunk);
    std::vector<std::uint8_t> raw(len);
    if (auto s = image_.read_chunk(item.chunk, raw); !s) return s.context("server image");
    std::vector<std::uint8_t> literals;
    for (auto [off, n] : item.ranges) {
        if (off > len || n > len - off) return Status::error("want range outside chunk " + std::to_string(item.chunk));
        literals.insert(literals.end(), raw.begin() + off, raw.begin() + off + n);
    }
    // One zstd stream per session, flushed per item: later literals reuse earlier history.
    ByteWriter w;
    w.u32(item.chunk);
    auto& out = w.data();
    std::size_t header = out.size();
    out.resize(header + ZSTD_compressBound(literals.size()) + 64);
    ZSTD_inBuffer in{literals.data(), literals.size(), 0};
    ZSTD_outBuffer ob{out.data() + header, out.size() - header, 0};
    for (;;) {
        std::size_t left = ZSTD_compressStream2(compressor_->cctx, &ob, &in, ZSTD_e_flush);
        if (ZSTD_isError(left)) return Status::error(std::string("compressing literals: ") + ZSTD_getErrorName(left));
        if (left == 0) break;
        out.resize(out.size() + left + 4096);
        ob.dst = out.data() + header;
        ob.size = out.size() - header;
    }
    out.resize(header + ob.pos);
    return send(MsgType::kLiterals, out);
}

Status ServerSession::send(MsgType type, std::span<const std::uint8_t> body) {
    if (auto s = stream_->send(type, body, options_.idle_timeout); !s) return s;
    if (options_.rate_limit > 0) {
        // Sleep until the average since the start is back under the limit.
        auto due = started_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                  std::chrono::duration<double>(double(stream_->bytes_out()) / double(options_.rate_limit)));
        std::this_thread::sleep_until(due);
    }
    return Status::ok();
}

}  // namespace imaging::delta
