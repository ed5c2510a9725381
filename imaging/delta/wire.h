// The delta protocol's messages and their little-endian body encoding (see server.h for the
// conversation, PROTOCOL.md for the whole protocol and its authentication). A message is
// [u32 body length][u8 type][body].
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "imaging/status.h"

namespace imaging::delta {

inline constexpr std::uint32_t kProtocolVersion = 1;
inline constexpr char kHelloMagic[8] = {'P', 'R', 'V', 'D', 'E', 'L', 'T', 'A'};
// Bounds what a peer can make the other allocate for one message. The server's answers (a
// chunk's frame) can be large; a receiver's requests never are, so the server holds them to
// kMaxRequestBody. Either way a body is read in kReadStep pieces, so a header that promises
// the limit and then goes silent costs one step of memory, not the promise.
inline constexpr std::uint32_t kMaxMessageBody = 256u << 20;
inline constexpr std::uint32_t kMaxRequestBody = 16u << 20;
inline constexpr std::uint32_t kReadStep = 1u << 20;

enum class MsgType : std::uint8_t {
    kHello = 1,       // client: magic, version[, client nonce (32): asks for authentication
                      // [, u8 n, receiver id (n bytes): the secret is that receiver's key]]
    kManifest = 2,    // server: the signed manifest's JSON
    kSigRequest = 3,  // client: u32 n, n x u32 chunk index
    kSigReply = 4,    // server: per requested chunk: u32 blocks, blocks x (u32 weak, u64 strong)
    kWant = 5,        // client: u32 n, n x WantItem
    kFrame = 6,       // server: u32 chunk, the chunk's stored zstd frame
    kLiterals = 7,    // server: u32 chunk, the wanted ranges' bytes, zstd stream (flushed)
    kError = 8,       // either: one line of text; the sender closes after it
    kDone = 9,        // client: finished, server may close
    kChallenge = 10,  // server with a secret: server nonce (32), server proof (32)
    kAuth = 11,       // client: client proof (32)
    kReceipt = 12,    // identified client, all verified and synced: image sha256 (32), proof (32)
    kReceiptAck = 13, // server: the receipt is recorded (empty)
    kPossessionChallenge = 14,  // server, after kReceipt: nonce (32), u32 n, n x u32 chunk
    kPossession = 15, // client: n x SHA-256(nonce || u32 chunk || the chunk's raw bytes)
};

struct Message {
    MsgType type{};
    std::vector<std::uint8_t> body;
};

class ByteWriter {
public:
    void u8(std::uint8_t v) { out_.push_back(v); }
    void u32(std::uint32_t v) { put(&v, 4); }
    void u64(std::uint64_t v) { put(&v, 8); }
    void bytes(std::span<const std::uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
    void text(std::string_view s) { put(s.data(), s.size()); }
    std::vector<std::uint8_t>& data() { return out_; }

private:
    void put(const void* p, std::size_t n) {
        auto* b = static_cast<const std::uint8_t*>(p);
        out_.insert(out_.end(), b, b + n);
    }
    std::vector<std::uint8_t> out_;
};

// Reads a body; every read past the end sets failed() instead of reading garbage.
class ByteReader {
public:
    explicit ByteReader(std::span<const std::uint8_t> in) : in_(in) {}
    std::uint8_t u8() { std::uint8_t v = 0; get(&v, 1); return v; }
    std::uint32_t u32() { std::uint32_t v = 0; get(&v, 4); return v; }
    std::uint64_t u64() { std::uint64_t v = 0; get(&v, 8); return v; }
    std::span<const std::uint8_t> rest() { auto r = in_.subspan(pos_); pos_ = in_.size(); return r; }
    std::size_t remaining() const { return in_.size() - pos_; }
    bool failed() const { return failed_; }

private:
    void get(void* p, std::size_t n) {
        if (failed_ || in_.size() - pos_ < n) { failed_ = true; return; }
        std::memcpy(p, in_.data() + pos_, n);
        pos_ += n;
    }
    std::span<const std::uint8_t> in_;
    std::size_t pos_ = 0;
    bool failed_ = false;
};

// One piece of a kWant: either the chunk's whole stored frame or some byte ranges of its raw
// data (offset within the chunk, length).
struct WantItem {
    std::uint32_t chunk = 0;
    bool whole_frame = true;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> ranges;
};

std::vector<std::uint8_t> encode_want(const std::vector<WantItem>& items);
Result<std::vector<WantItem>> decode_want(std::span<const std::uint8_t> body);

}  // namespace imaging::delta
