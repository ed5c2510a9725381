#include "client_handshake.h"

#include <algorithm>
#include <vector>

#include "wire.h"

namespace imaging::delta {

Result<Manifest> handshake(FramedStream& stream, const VerifyKey& key, const ManifestPin& expect,
                           const std::optional<Secret>& secret, const std::string& receiver_id,
                           std::chrono::seconds timeout, Nonces& nonces) {
    ByteWriter hello;
    hello.bytes({reinterpret_cast<const std::uint8_t*>(kHelloMagic), 8});
    hello.u32(kProtocolVersion);
    Nonce client{};
    if (secret) {
        client = random_nonce();
        hello.bytes(client);
        if (!receiver_id.empty()) {
            hello.u8(std::uint8_t(receiver_id.size()));
            hello.text(receiver_id);
        }
    }
    if (auto s = stream.send(MsgType::kHello, hello.data(), timeout); !s) return s;
    if (secret) {
        // The server proves itself first: nothing it says after is read unless it does.
        auto challenge = stream.receive(timeout, 4096);
        if (!challenge) return challenge.status();
        if (challenge->type != MsgType::kChallenge)
            return Status::error("the server did not authenticate (it has no secret, or is not ours); refused");
        if (challenge->body.size() != kNonceSize + 32) return Status::error("malformed challenge from the server");
        Nonce server{};
        std::copy_n(challenge->body.begin(), kNonceSize, server.begin());
        const Mac expected = server_proof(*secret, client, server);
        if (!equal_tags(std::span(challenge->body).subspan(kNonceSize), expected))
            return Status::error("the server failed authentication: its secret is not ours; refused");
        const Mac proof = client_proof(*secret, client, server);
        if (auto s = stream.send(MsgType::kAuth, proof, timeout); !s) return s;
        nonces = {client, server};
    }
    auto reply = stream.receive(timeout);
    if (!reply) return reply.status();
    if (reply->type != MsgType::kManifest) return Status::error("server did not send a manifest");
    auto m = Manifest::parse({reinterpret_cast<const char*>(reply->body.data()), reply->body.size()});
    if (!m) return m.status().context("manifest from server");
    if (auto s = m->verify_signature(key); !s) return s.context("manifest from server");
    if (auto s = expect.check(*m); !s) return s.context("manifest from server");
    return m;
}

Status confirm_delivery(FramedStream& stream, const Manifest& m, const Secret& key,
                        const Nonces& nonces, std::chrono::seconds timeout,
                        const ChunkReader& read_chunk) {
    ByteWriter w;
    w.bytes(m.image_sha256);
    w.bytes(receipt_proof(key, nonces.client, nonces.server, m.image_sha256));
    if (auto s = stream.send(MsgType::kReceipt, w.data(), timeout); !s) return s;
    auto challenge = stream.receive(timeout, 4096);
    if (!challenge) return challenge.status().context("the server did not confirm delivery");
    ByteReader c(challenge->body);
    Nonce nonce{};
    for (auto& b : nonce) b = c.u8();
    const std::uint32_t n = c.u32();
    if (challenge->type != MsgType::kPossessionChallenge || c.failed() ||
        n > kPossessionSamples || c.remaining() != std::size_t(n) * 4)
        return Status::error("the server did not confirm delivery (no possession check)");
    ByteWriter answer;
    std::vector<std::uint8_t> raw;
    for (std::uint32_t k = 0; k < n; ++k) {
        const std::uint32_t chunk = c.u32();
        if (chunk >= m.chunks.size()) return Status::error("possession check of a chunk out of range");
        raw.resize(m.chunk_length(chunk));
        if (auto s = read_chunk(chunk, raw); !s) return s;
        answer.bytes(possession_digest(nonce, chunk, raw));
    }
    if (auto s = stream.send(MsgType::kPossession, answer.data(), timeout); !s) return s;
    auto ack = stream.receive(timeout, 4096);
    if (!ack) return ack.status().context("the server did not confirm delivery");
    if (ack->type != MsgType::kReceiptAck)
        return Status::error("the server did not confirm delivery (it answered message type " +
                             std::to_string(int(ack->type)) + ")");
    return Status::ok();
}

}  // namespace imaging::delta
