// Test doubles for the multicast engines: a FakeNetwork of FakePorts (DatagramSocket) that
// delivers instantly and drops whatever a test's predicate chooses, an in-memory ChunkSink
// that verifies and "writes" synchronously, and a small image built in memory.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <vector>

#include "imaging/chunk.h"
#include "imaging/manifest.h"
#include "multicast/chunk_sink.h"
#include "multicast/datagram_socket.h"

namespace imaging::multicast::testing {

class FakeNetwork;

class FakePort final : public DatagramSocket {
  public:
    FakePort(FakeNetwork& net, Endpoint self) : net_(net), self_(self) {}
    Endpoint group() const override;
    Status send(std::span<const OutDatagram> datagrams) override;
    Result<std::size_t> receive(std::span<InDatagram> out, Duration) override {
        std::size_t n = 0;
        while (n < out.size() && !inbox.empty()) {
            out[n++] = std::move(*inbox.front());
            inbox.pop_front();
        }
        return n;
    }
    const Endpoint& self() const { return self_; }
    bool connected = true;  // false: a dead host, neither sends nor receives
    std::deque<std::unique_ptr<InDatagram>> inbox;

  private:
    FakeNetwork& net_;
    Endpoint self_;
};

// Decides the fate of one delivery: return true to drop it. May also alter the bytes.
using DropRule = std::function<bool(const Endpoint& from, const Endpoint& to, InDatagram& d)>;

class FakeNetwork {
  public:
    static constexpr Endpoint kGroup{0xEFC04D01, 7700};
    FakePort& add_port(std::uint32_t address) {
        ports_.push_back(std::make_unique<FakePort>(*this, Endpoint{address, 7700}));
        return *ports_.back();
    }
    void deliver(const Endpoint& from, const OutDatagram& d) {
        for (auto& port : ports_) {
            if (!port->connected || port->self() == from) continue;  // multicast loop off
            if (!(d.to == kGroup) && !(d.to == port->self())) continue;
            auto in = std::make_unique<InDatagram>();
            in->from = from;
            in->length = d.size();
            std::copy(d.header.begin(), d.header.end(), in->bytes.begin());
            std::copy(d.payload.begin(), d.payload.end(), in->bytes.begin() + d.header.size());
            if (drop && drop(from, port->self(), *in)) continue;
            port->inbox.push_back(std::move(in));
        }
    }
    DropRule drop;

  private:
    std::vector<std::unique_ptr<FakePort>> ports_;
};

inline Endpoint FakePort::group() const {
    return FakeNetwork::kGroup;
}
inline Status FakePort::send(std::span<const OutDatagram> datagrams) {
    if (!connected) return Status::ok();
    for (const auto& d : datagrams) net_.deliver(self_, d);
    return Status::ok();
}

// Verifies like ChunkWriter, into memory, at once.
class MemorySink final : public ChunkSink {
  public:
    Status prepare(const Manifest& m) override {
        manifest = m;
        image.assign(m.raw_size, 0xEE);
        return Status::ok();
    }
    void submit(std::uint32_t chunk, std::vector<std::uint8_t> frame) override {
        std::span<std::uint8_t> out(image.data() + manifest.chunk_offset(chunk),
                                    manifest.chunk_length(chunk));
        std::vector<std::uint8_t> scratch(out.size());
        Status s = decode_chunk(frame, scratch, manifest.chunks[chunk].sha256);
        if (s) std::copy(scratch.begin(), scratch.end(), out.begin());  // never unverified bytes
        results.push_back({chunk, s, false});
    }
    void submit_zero(std::uint32_t chunk) override {
        std::fill_n(image.begin() + std::ptrdiff_t(manifest.chunk_offset(chunk)),
                    manifest.chunk_length(chunk), 0);
        results.push_back({chunk, Status::ok(), false});
    }
    std::vector<ChunkResult> take_results() override { return std::exchange(results, {}); }
    Status finish() override {
        finished = true;
        return Status::ok();
    }
    Manifest manifest;
    std::vector<std::uint8_t> image;
    std::vector<ChunkResult> results;
    bool finished = false;
};

// A small image in memory: chunks of random bytes (one all-zero), their frames, a manifest,
// and the session objects a sender multicasts.
struct MemoryImage {
    explicit MemoryImage(std::uint32_t chunks = 6, std::uint32_t chunk_size = 16384) {
        std::mt19937 rng(42);
        manifest.name = "test";
        manifest.version = "1";
        manifest.chunk_size = chunk_size;
        manifest.raw_size = std::uint64_t(chunks) * chunk_size - 1000;  // short last chunk
        raw.resize(manifest.raw_size);
        std::uint64_t offset = 0;
        for (std::uint32_t i = 0; i < chunks; ++i) {
            std::uint32_t len = manifest.chunk_length(i);
            std::span<std::uint8_t> c(raw.data() + manifest.chunk_offset(i), len);
            if (i != 2)
                for (auto& b : c) b = std::uint8_t(rng() % 7);  // compressible but not zero
            ChunkEntry e;
            e.sha256 = sha256(c);
            if (i != 2) {
                frames.push_back(compress_chunk(c, 1));
                e.pack_offset = offset;
                e.pack_size = std::uint32_t(frames.back().size());
                offset += e.pack_size;
            } else {
                frames.emplace_back();
            }
            manifest.chunks.push_back(e);
        }
        manifest.pack_size = offset;
        manifest.image_sha256 = sha256(raw);
        manifest_bytes.assign(64, 'M');  // what the fake ManifestCheck accepts
    }
    std::vector<std::span<const std::uint8_t>> objects() const {
        std::vector<std::span<const std::uint8_t>> out{manifest_bytes};
        for (const auto& f : frames) out.emplace_back(f);
        return out;
    }
    // Accepts exactly manifest_bytes, as a signature check would accept only the signed bytes.
    std::function<Result<Manifest>(std::span<const std::uint8_t>)> check() const {
        return [this](std::span<const std::uint8_t> b) -> Result<Manifest> {
            if (!std::equal(b.begin(), b.end(), manifest_bytes.begin(), manifest_bytes.end()))
                return Status::error("manifest signature does not verify");
            return manifest;
        };
    }
    Manifest manifest;
    std::vector<std::uint8_t> raw;
    std::vector<std::vector<std::uint8_t>> frames;
    std::vector<std::uint8_t> manifest_bytes;
};

}  // namespace imaging::multicast::testing
