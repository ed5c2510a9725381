#include "assembler.h"

#include <cstring>

#include "block_signature.h"
#include "imaging/chunk.h"
#include "imaging/digest.h"

namespace imaging::delta {

ChunkAssembler::ChunkAssembler(const Manifest& manifest, Target& target,
                               const std::vector<const Basis*>& sources, const std::vector<std::uint8_t>& cache)
    : manifest_(manifest), target_(target), sources_(sources), cache_(cache) {}

Result<ChunkAssembler::Outcome> ChunkAssembler::process(const ChunkJob& job) {
    const ChunkPlan& plan = *job.plan;
    const std::size_t i = plan.chunk;
    const std::uint64_t off = manifest_.chunk_offset(i);
    const std::uint32_t len = manifest_.chunk_length(i);
    const std::string what = "chunk " + std::to_string(i);

    if (plan.action == ChunkAction::kZero) {
        if (auto s = target_.zero_range(off, len); !s) return s;
        return Outcome::kWritten;
    }
    thread_local std::vector<std::uint8_t> buf;  // one per worker, reused chunk to chunk
    buf.resize(len);
    if (job.payload_kind == ChunkJob::kFrame) {
        if (auto s = decode_chunk(job.payload, buf, manifest_.chunks[i].sha256); !s)
            return s.context(what + " from the server");
        if (auto s = target_.write_at(off, buf); !s) return s;
        bytes_written_ += len;
        return Outcome::kWritten;
    }
    if (plan.action == ChunkAction::kCopyChunk) {
        if (auto s = sources_[plan.source]->read_at(off, buf); !s) return s;
        if (sha256(buf) != manifest_.chunks[i].sha256) return Outcome::kMismatch;
        if (auto s = target_.write_at(off, buf); !s) return s;
        bytes_written_ += len;
        return Outcome::kWritten;
    }
    std::size_t literal = 0;
    for (std::size_t b = 0; b < plan.blocks.size(); ++b) {
        const BlockSource& bs = plan.blocks[b];
        const std::size_t pos = b * kBlockSize;
        std::span<std::uint8_t> dst(buf.data() + pos, std::min<std::size_t>(kBlockSize, len - pos));
        switch (bs.kind) {
            case BlockSource::kZero: std::memset(dst.data(), 0, dst.size()); break;
            case BlockSource::kInPlace:
            case BlockSource::kLocal:
                if (auto s = sources_[bs.source]->read_at(bs.offset, dst); !s) return s;
                break;
            case BlockSource::kCached:
                if (bs.offset + dst.size() > cache_.size()) return Outcome::kMismatch;
                std::memcpy(dst.data(), cache_.data() + bs.offset, dst.size());
                break;
            case BlockSource::kFetch:
                if (literal + dst.size() > job.payload.size())
                    return Status::error(what + ": the server sent too few literal bytes");
                std::memcpy(dst.data(), job.payload.data() + literal, dst.size());
                literal += dst.size();
                break;
        }
    }
    if (literal != job.payload.size()) return Status::error(what + ": the server sent too many literal bytes");
    if (sha256(buf) != manifest_.chunks[i].sha256) return Outcome::kMismatch;
    if (auto s = write_changed(plan, buf); !s) return s;
    return Outcome::kWritten;
}

// Writes the runs of blocks that are not already in place.
Status ChunkAssembler::write_changed(const ChunkPlan& plan, std::span<const std::uint8_t> chunk) {
    const std::uint64_t off = manifest_.chunk_offset(plan.chunk);
    std::size_t b = 0;
    while (b < plan.blocks.size()) {
        if (plan.blocks[b].kind == BlockSource::kInPlace) {
            ++b;
            continue;
        }
        std::size_t e = b;
        while (e < plan.blocks.size() && plan.blocks[e].kind != BlockSource::kInPlace) ++e;
        std::size_t from = b * kBlockSize, to = std::min(chunk.size(), e * kBlockSize);
        if (auto s = target_.write_at(off + from, chunk.subspan(from, to - from)); !s) return s;
        bytes_written_ += to - from;
        b = e;
    }
    return Status::ok();
}

}  // namespace imaging::delta
