#include "receiver.h"
#include "receiver_stream.h"

#include <sys/stat.h>
#include <zstd.h>

#include <cstdio>
#include <mutex>
#include <utility>

#include "assembler.h"
#include "basis.h"
#include "framed_stream.h"
#include "client_handshake.h"
#include "handshake_auth.h"
#include "imaging/delivery.h"
#include "imaging/manifest.h"
#include "imaging/signing.h"
#include "imaging/target.h"
#include "imaging/worker_pool.h"
#include "plan.h"

namespace imaging::delta {

namespace {

SignatureFetcher signature_fetcher(FramedStream& stream, std::chrono::seconds timeout) {
    return [&stream, timeout](const std::vector<std::uint32_t>& chunks)
               -> Result<std::vector<std::vector<BlockSum>>> {
        ByteWriter w;
        w.u32(std::uint32_t(chunks.size()));
        for (auto c : chunks) w.u32(c);
        if (auto s = stream.send(MsgType::kSigRequest, w.data(), timeout); !s) return s;
        auto reply = stream.receive(timeout);
        if (!reply) return reply.status();
        if (reply->type != MsgType::kSigReply) return Status::error("server did not send signatures");
        ByteReader r(reply->body);
        std::vector<std::vector<BlockSum>> out(chunks.size());
        for (auto& sums : out) {
            std::uint32_t n = r.u32();
            if (r.failed() || n > r.remaining() / 12) return Status::error("malformed signature reply");
            sums.resize(n);
            for (auto& b : sums) b.weak = r.u32(), b.strong = r.u64();
        }
        if (r.failed() || r.remaining()) return Status::error("malformed signature reply");
        return out;
    };
}

// Writing the new image over the old one in place can destroy old blocks that other chunks
// still want to copy. Before anything is written, copy aside every wanted old block that lies
// in a region that will change; past the cache limit, such blocks are fetched instead.
Result<std::vector<std::uint8_t>> protect_in_place_blocks(const Manifest& m, Plan& plan, const Basis& output,
                                                          int output_source, std::uint64_t max_bytes) {
    std::vector<bool> changing((m.raw_size + kBlockSize - 1) / kBlockSize, false);
    auto mark = [&](std::uint64_t from, std::uint64_t to) {
        for (std::uint64_t b = from / kBlockSize; b * kBlockSize < to && b < changing.size(); ++b) changing[b] = true;
    };
    for (const auto& cp : plan.chunks) {
        std::uint64_t off = m.chunk_offset(cp.chunk), len = m.chunk_length(cp.chunk);
        if (cp.action == ChunkAction::kZero || cp.action == ChunkAction::kCopyChunk) mark(off, off + len);
        if (cp.action != ChunkAction::kBuild) continue;
        if (cp.blocks.empty()) mark(off, off + len);
        for (std::size_t b = 0; b < cp.blocks.size(); ++b)
            if (cp.blocks[b].kind != BlockSource::kInPlace)
                mark(off + b * kBlockSize, std::min(off + len, off + (b + 1) * kBlockSize));
    }
    std::vector<std::uint8_t> cache;
    for (auto& cp : plan.chunks) {
        for (auto& bs : cp.blocks) {
            if (bs.kind != BlockSource::kLocal || bs.source != output_source) continue;
            bool endangered = changing[bs.offset / kBlockSize] ||
                              changing[std::min<std::uint64_t>(changing.size() - 1, (bs.offset + kBlockSize - 1) / kBlockSize)];
            if (!endangered) continue;
            if (cache.size() + kBlockSize > max_bytes) {
                bs.kind = BlockSource::kFetch;
                continue;
            }
            std::size_t at = cache.size();
            cache.resize(at + kBlockSize);
            if (auto s = output.read_at(bs.offset, {cache.data() + at, kBlockSize}); !s) return s;
            bs.kind = BlockSource::kCached;
            bs.offset = at;
        }
    }
    return cache;
}

WantItem want_for(const Manifest& m, const ChunkPlan& cp) {
    WantItem item;
    item.chunk = cp.chunk;
    item.whole_frame = cp.fetch_whole;
    if (cp.fetch_whole) return item;
    const std::uint32_t len = m.chunk_length(cp.chunk);
    for (std::size_t b = 0; b < cp.blocks.size(); ++b) {
        if (cp.blocks[b].kind != BlockSource::kFetch) continue;
        std::uint32_t from = std::uint32_t(b * kBlockSize);
        std::uint32_t n = std::min<std::uint32_t>(kBlockSize, len - from);
        if (!item.ranges.empty() && item.ranges.back().first + item.ranges.back().second == from)
            item.ranges.back().second += n;
        else
            item.ranges.emplace_back(from, n);
    }
    return item;
}

class LiteralDecoder {
public:
    LiteralDecoder() : dctx_(ZSTD_createDCtx()) {}
    ~LiteralDecoder() { ZSTD_freeDCtx(dctx_); }
    Result<std::vector<std::uint8_t>> decode(std::span<const std::uint8_t> in, std::size_t expected) {
        std::vector<std::uint8_t> out(expected);
        ZSTD_inBuffer ib{in.data(), in.size(), 0};
        ZSTD_outBuffer ob{out.data(), out.size(), 0};
        while (ib.pos < ib.size) {
            std::size_t r = ZSTD_decompressStream(dctx_, &ob, &ib);
            if (ZSTD_isError(r)) return Status::error(std::string("literals do not decompress: ") + ZSTD_getErrorName(r));
            if (ob.pos == ob.size && ib.pos < ib.size) return Status::error("server sent more literal bytes than asked for");
        }
        if (ob.pos != expected) return Status::error("server sent fewer literal bytes than asked for");
        return out;
    }

private:
    ZSTD_DCtx* dctx_;
};

// receive() from the connected stream on: start is when receive() began (for --verbose).
Result<ReceiveReport> receive_on(FramedStream& stream, const VerifyKey& key,
                                 const ReceiveOptions& o, Progress* progress,
                                 std::chrono::steady_clock::time_point start) {
    auto last = start;
    auto phase = [&](const char* name) {
        if (!o.verbose) return;
        auto now = std::chrono::steady_clock::now();
        std::fprintf(stderr, "delta: %-12s %.3f s\n", name, std::chrono::duration<double>(now - last).count());
        last = now;
    };
    if (!o.receiver_id.empty() && (!o.secret || !valid_receiver_id(o.receiver_id)))
        return Status::error("a receiver id needs a secret and 1 to 64 of [A-Za-z0-9._:/-]");
    Nonces nonces;
    auto manifest = handshake(stream, key, o.expect, o.secret, o.receiver_id, o.timeout, nonces);
    if (!manifest) return manifest.status();
    const Manifest& m = *manifest;

    struct stat st {};
    const bool output_existed = ::stat(o.output.c_str(), &st) == 0 && (S_ISBLK(st.st_mode) || st.st_size > 0);
    std::unique_ptr<Basis> basis;
    if (o.basis) {
        auto b = Basis::open(*o.basis);
        if (!b) return b.status();
        basis = std::move(*b);
        if (output_existed && basis->same_file_as(o.output)) basis.reset();  // it is the output
    }
    auto target = Target::open(o.output, m.raw_size);
    if (!target) return target.status();

    std::vector<const Basis*> sources;
    std::unique_ptr<Basis> output_basis;
    int output_source = -1;
    if (output_existed) {
        output_basis = std::make_unique<Basis>(o.output.string(), (*target)->fd(), m.raw_size, false);
        output_source = 0;
        sources.push_back(output_basis.get());
    }
    if (basis) sources.push_back(basis.get());

    if (progress) progress->set_total(m.nonzero_raw_bytes());
    phase("connect");
    auto planned = make_plan(m, sources, output_source, signature_fetcher(stream, o.timeout), phase);
    if (!planned) return planned.status();
    Plan& plan = *planned;
    std::vector<std::uint8_t> cache;
    if (output_basis) {
        auto protected_blocks = protect_in_place_blocks(m, plan, *output_basis, output_source, o.max_cache_bytes);
        if (!protected_blocks) return protected_blocks.status();
        cache = std::move(*protected_blocks);
    }
    Status status;
    finish_plan(m, plan);
    phase("plan");

    ReceiveReport report;
    report.bytes_reused = plan.reused_bytes;
    report.name = m.name;
    report.version = m.version;
    ChunkAssembler assembler(m, **target, sources, cache);
    std::mutex retry_mu;
    std::vector<std::uint32_t> retry;
    auto run_job = [&](ChunkJob job) -> Status {
        auto outcome = assembler.process(job);
        if (!outcome) return outcome.status();
        if (*outcome == ChunkAssembler::Outcome::kMismatch) {
            std::lock_guard lock(retry_mu);
            retry.push_back(job.plan->chunk);
        } else if (progress && !m.chunks[job.plan->chunk].is_zero()) {
            progress->advance(m.chunk_length(job.plan->chunk));
        }
        return Status::ok();
    };

    // The first chunk goes last (see receiver.h); everything else as soon as it can.
    std::optional<ChunkJob> first_chunk;
    std::vector<WantItem> wants;
    std::uint64_t kept = 0;
    {
        WorkerPool pool(o.threads, 16);
        auto submit = [&](ChunkJob job) {
            if (job.plan->chunk == 0) {
                first_chunk = std::move(job);
                return true;
            }
            return pool.submit([&run_job, job = std::move(job)]() mutable { return run_job(std::move(job)); });
        };
        for (const auto& cp : plan.chunks) {
            if (cp.action == ChunkAction::kKeep) {
                if (!m.chunks[cp.chunk].is_zero()) kept += m.chunk_length(cp.chunk);
                continue;
            }
            if (cp.action == ChunkAction::kBuild && (cp.fetch_whole || cp.fetch_bytes() > 0)) {
                wants.push_back(want_for(m, cp));
                continue;
            }
            if (!submit({&cp, ChunkJob::kNone, {}})) break;
        }
        if (progress) progress->advance(kept);
        if (!wants.empty() && !pool.failed()) {
            status = stream.send(MsgType::kWant, encode_want(wants), o.timeout);
            LiteralDecoder literals;
            for (std::size_t k = 0; k < wants.size() && status; ++k) {
                auto msg = stream.receive(o.timeout);
                if (!msg) {
                    status = msg.status();
                    break;
                }
                ByteReader r(msg->body);
                std::uint32_t chunk = r.u32();
                if (r.failed() || chunk != wants[k].chunk ||
                    (msg->type != MsgType::kFrame && msg->type != MsgType::kLiterals)) {
                    status = Status::error("server answered out of order");
                    break;
                }
                ChunkJob job{&plan.chunks[chunk], ChunkJob::kFrame, {}};
                if (msg->type == MsgType::kFrame) {
                    auto rest = r.rest();
                    job.payload.assign(rest.begin(), rest.end());
                } else {
                    std::size_t expected = 0;
                    for (auto [off, n] : wants[k].ranges) expected += n;
                    auto lit = literals.decode(r.rest(), expected);
                    if (!lit) {
                        status = lit.status();
                        break;
                    }
                    job.payload_kind = ChunkJob::kLiterals;
                    job.payload = std::move(*lit);
                }
                report.chunks_fetched++;
                if (!submit(std::move(job))) break;
            }
        }
        Status pooled = pool.wait();
        if (status) status = pooled;
    }
    if (!status) return status;
    phase("transfer");

    // Chunks whose local blocks did not add up (rare): fetch them whole. A stored frame that
    // does not verify is an error from the assembler, so this cannot loop.
    auto fetch_whole = [&](std::vector<std::uint32_t> chunks) -> Status {
        std::vector<WantItem> again;
        for (auto c : chunks) again.push_back({c, true, {}});
        report.chunks_retried += again.size();
        if (auto s = stream.send(MsgType::kWant, encode_want(again), o.timeout); !s) return s;
        for (const auto& item : again) {
            auto msg = stream.receive(o.timeout);
            if (!msg) return msg.status();
            ByteReader r(msg->body);
            if (msg->type != MsgType::kFrame || r.u32() != item.chunk) return Status::error("server answered out of order");
            auto rest = r.rest();
            if (auto s = run_job({&plan.chunks[item.chunk], ChunkJob::kFrame, {rest.begin(), rest.end()}}); !s) return s;
        }
        return Status::ok();
    };
    if (!retry.empty()) {
        if (auto s = fetch_whole(std::exchange(retry, {})); !s) return s;
    }
    if (first_chunk) {
        // Everything else is on disk before the first chunk makes the output look like the image.
        if (auto s = (*target)->sync(); !s) return s;
        if (auto s = run_job(std::move(*first_chunk)); !s) return s;
        if (!retry.empty()) {
            if (auto s = fetch_whole(std::exchange(retry, {})); !s) return s;
        }
    }
    if (auto s = (*target)->sync(); !s) return s;
    if (!o.receiver_id.empty()) {
        // Every chunk is verified and on disk: only now may the server record the delivery.
        // Read back from the output: what is on disk is what we claim to hold.
        auto read_back = [&](std::uint32_t chunk, std::span<std::uint8_t> out) {
            return (*target)->read_at(m.chunk_offset(chunk), out);
        };
        if (auto s = confirm_delivery(stream, m, *o.secret, nonces, o.timeout, read_back); !s) return s;
        report.delivery_confirmed = true;
    }
    (void)stream.send(MsgType::kDone, {}, std::chrono::seconds(2));
    phase("finish");

    report.bytes_received = stream.bytes_in();
    report.bytes_written = assembler.bytes_written();
    report.sha256 = m.image_sha256;
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
}

}  // namespace

Result<ReceiveReport> receive_over(FramedStream& stream, const VerifyKey& key,
                                   const ReceiveOptions& options, Progress* progress) {
    return receive_on(stream, key, options, progress, std::chrono::steady_clock::now());
}

Result<ReceiveReport> receive(const ReceiveOptions& o, Progress* progress) {
    auto start = std::chrono::steady_clock::now();
    auto key = VerifyKey::load(o.pubkey);
    if (!key) return key.status();
    auto stream = FramedStream::connect(o.server, o.timeout);
    if (!stream) return stream.status();
    return receive_on(**stream, *key, o, progress, start);
}

}  // namespace imaging::delta
