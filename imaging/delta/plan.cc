#include "plan.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>

#include "imaging/chunk.h"
#include "imaging/digest.h"
#include "imaging/parallel.h"
#include "matcher.h"

namespace imaging::delta {

namespace {

// Signatures go out in batches so that no message nears the size limit.
constexpr std::size_t kSignatureBatch = 512;
// The scan reads old data in slices of this size (plus a block's overlap).
constexpr std::size_t kScanSlice = 16u << 20;

bool covers(const Basis& b, std::uint64_t offset, std::uint64_t length) {
    return offset + length <= b.size();
}

// Phase 1: whole chunks, by SHA-256 at the same offset. Sets saw_data when any source holds a
// byte that is not zero where the image lies; a source that is zero there (a new host's blank
// disk) has nothing the later phases could find.
Status plan_chunks(const Manifest& m, const std::vector<const Basis*>& sources, int output_source,
                   Plan& plan, std::atomic<bool>& saw_data) {
    plan.chunks.resize(m.chunks.size());
    return parallel_for(m.chunks.size(), 0, [&](std::size_t i) {
        ChunkPlan& cp = plan.chunks[i];
        cp.chunk = std::uint32_t(i);
        const std::uint64_t off = m.chunk_offset(i);
        const std::uint32_t len = m.chunk_length(i);
        std::vector<std::uint8_t> buf(len);
        if (m.chunks[i].is_zero()) {
            cp.action = ChunkAction::kKeep;
            if (output_source < 0) return Status::ok();
            const Basis& out = *sources[std::size_t(output_source)];
            if (!covers(out, off, len) || out.is_hole(off, len)) return Status::ok();
            if (auto s = out.read_at(off, buf); !s) return s;
            if (!is_all_zero(buf)) {
                cp.action = ChunkAction::kZero;
                saw_data = true;
            }
            return Status::ok();
        }
        cp.action = ChunkAction::kBuild;
        for (std::size_t s = 0; s < sources.size(); ++s) {
            // A hole reads as zeros, and this chunk is not all zeros.
            if (!covers(*sources[s], off, len) || sources[s]->is_hole(off, len)) continue;
            if (auto r = sources[s]->read_at(off, buf); !r) return r;
            if (is_all_zero(buf)) continue;  // cannot be this chunk, which is not all zeros
            saw_data = true;
            if (sha256(buf) == m.chunks[i].sha256) {
                cp.action = int(s) == output_source ? ChunkAction::kKeep : ChunkAction::kCopyChunk;
                cp.source = std::uint8_t(s);
                break;
            }
        }
        return Status::ok();
    });
}

// Phase 2: blocks of changed chunks, zeros and same-offset matches.
Status plan_blocks_in_place(const Manifest& m, const std::vector<const Basis*>& sources,
                            int output_source, const std::vector<std::uint32_t>& build,
                            const std::vector<std::vector<BlockSum>>& sums, Plan& plan) {
    const std::vector<std::uint8_t> zeros(kBlockSize, 0);
    const BlockSum zero_block = chunk_block_sums(zeros)[0];
    return parallel_for(build.size(), 0, [&](std::size_t k) {
        ChunkPlan& cp = plan.chunks[build[k]];
        const std::uint64_t off = m.chunk_offset(cp.chunk);
        const std::uint32_t len = m.chunk_length(cp.chunk);
        const auto& chunk_sums = sums[k];
        if (chunk_sums.size() != (len + kBlockSize - 1) / kBlockSize)
            return Status::error("server sent a signature of the wrong length for chunk " +
                                 std::to_string(cp.chunk));
        cp.blocks.assign(chunk_sums.size(), {});
        std::vector<std::vector<std::uint8_t>> data(sources.size());
        for (std::size_t s = 0; s < sources.size(); ++s) {
            if (!covers(*sources[s], off, len)) continue;
            data[s].resize(len);
            if (auto r = sources[s]->read_at(off, data[s]); !r) return r;
        }
        for (std::size_t b = 0; b < chunk_sums.size(); ++b) {
            const std::size_t pos = b * kBlockSize;
            const std::size_t blen = std::min<std::size_t>(kBlockSize, len - pos);
            BlockSource& bs = cp.blocks[b];
            const BlockSum zero_sum =
                blen == kBlockSize ? zero_block : chunk_block_sums({zeros.data(), blen})[0];
            if (chunk_sums[b] == zero_sum) {
                bs.kind = BlockSource::kZero;
                continue;
            }
            for (std::size_t s = 0; s < sources.size(); ++s) {
                if (data[s].empty()) continue;
                // The strong hash alone decides here: no rolling needed at a known offset, and
                // a false match is caught by the chunk's SHA-256 like any other.
                if (strong_hash({data[s].data() + pos, blen}) != chunk_sums[b].strong) continue;
                bs.kind = int(s) == output_source ? BlockSource::kInPlace : BlockSource::kLocal;
                bs.source = std::uint8_t(s);
                bs.offset = off + pos;
                break;
            }
        }
        return Status::ok();
    });
}

struct PendingBlock {
    std::uint32_t chunk;
    std::uint32_t block;
};

// Phase 3: the blocks still missing, searched for at every byte offset of every source.
Status plan_blocks_by_scan(const Manifest& m, const std::vector<const Basis*>& sources,
                           const std::vector<std::uint32_t>& build,
                           const std::vector<std::vector<BlockSum>>& sums, Plan& plan,
                           std::string& summary) {
    std::vector<PendingBlock> pending;
    std::vector<BlockSum> wanted;
    for (std::size_t k = 0; k < build.size(); ++k) {
        const ChunkPlan& cp = plan.chunks[build[k]];
        const std::uint32_t len = m.chunk_length(cp.chunk);
        for (std::uint32_t b = 0; b < cp.blocks.size(); ++b) {
            if (cp.blocks[b].kind != BlockSource::kFetch) continue;
            if (len - b * kBlockSize < kBlockSize) continue;  // a short tail matches only in place
            pending.push_back({cp.chunk, b});
            wanted.push_back(sums[k][b]);
        }
    }
    if (pending.empty()) return Status::ok();
    const BlockMatcher matcher(std::move(wanted));

    struct Slice {
        std::uint8_t source;
        std::uint64_t begin, end;  // window starts
    };
    std::vector<Slice> slices;
    for (std::size_t s = 0; s < sources.size(); ++s)
        for (auto [begin, end] : sources[s]->data_extents())
            for (std::uint64_t p = begin; p < end; p += kScanSlice)
                slices.push_back({std::uint8_t(s), p, std::min<std::uint64_t>(end, p + kScanSlice)});

    std::mutex mu;
    std::vector<std::pair<std::uint8_t, BlockMatch>> found;
    Status s = parallel_for(slices.size(), 0, [&](std::size_t k) {
        const Slice& sl = slices[k];
        const Basis& src = *sources[sl.source];
        std::uint64_t read_end = std::min<std::uint64_t>(src.size(), sl.end + kBlockSize - 1);
        if (read_end - sl.begin < kBlockSize) return Status::ok();
        std::vector<std::uint8_t> buf(read_end - sl.begin);
        if (auto r = src.read_at(sl.begin, buf); !r) return r;
        std::vector<BlockMatch> local;
        matcher.scan(buf, std::size_t(sl.end - sl.begin), sl.begin, local);
        std::lock_guard lock(mu);
        for (const auto& bm : local) found.emplace_back(sl.source, bm);
        return Status::ok();
    });
    if (!s) return s;
    std::uint64_t scanned = 0;
    for (const auto& sl : slices) scanned += sl.end - sl.begin;
    summary = "scan (" + std::to_string(pending.size()) + " blocks sought in " + std::to_string(scanned >> 20) +
              " MiB, " + std::to_string(found.size()) + " found)";
    // Deterministic choice: the best source, then the lowest offset.
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
        return std::tie(a.first, a.second.offset) < std::tie(b.first, b.second.offset);
    });
    for (const auto& [source, bm] : found) {
        BlockSource& bs = plan.chunks[pending[bm.wanted].chunk].blocks[pending[bm.wanted].block];
        if (bs.kind != BlockSource::kFetch) continue;
        bs.kind = BlockSource::kLocal;
        bs.source = source;
        bs.offset = bm.offset;
    }
    return Status::ok();
}

}  // namespace

std::uint64_t ChunkPlan::fetch_bytes() const {
    std::uint64_t n = 0;
    for (const auto& b : blocks) n += b.kind == BlockSource::kFetch ? kBlockSize : 0;
    return n;
}

Result<Plan> make_plan(const Manifest& m, const std::vector<const Basis*>& sources,
                       int output_source, const SignatureFetcher& fetch_signatures,
                       const std::function<void(const char*)>& on_phase) {
    auto phase = [&](const char* name) {
        if (on_phase) on_phase(name);
    };
    Plan plan;
    std::atomic<bool> saw_data{false};
    if (auto s = plan_chunks(m, sources, output_source, plan, saw_data); !s) return s.context("planning");
    phase("chunks");
    // Sources that read as zeros wherever the image lies, and end there, hold no block worth
    // seeking: skip the signatures, the second read and the scan.
    bool blank = !saw_data;
    for (const Basis* b : sources) blank = blank && b->size() <= m.raw_size;
    std::vector<std::uint32_t> build;
    for (const auto& cp : plan.chunks)
        if (cp.action == ChunkAction::kBuild) build.push_back(cp.chunk);

    std::vector<std::vector<BlockSum>> sums;
    if (!sources.empty() && !blank) {
        for (std::size_t i = 0; i < build.size(); i += kSignatureBatch) {
            std::vector<std::uint32_t> batch(build.begin() + i,
                                             build.begin() + std::min(build.size(), i + kSignatureBatch));
            auto got = fetch_signatures(batch);
            if (!got) return got.status();
            if (got->size() != batch.size()) return Status::error("server sent too few signatures");
            for (auto& v : *got) sums.push_back(std::move(v));
        }
        phase("signatures");
        if (auto s = plan_blocks_in_place(m, sources, output_source, build, sums, plan); !s) return s;
        phase("in-place");
        std::string summary = "scan";
        if (auto s = plan_blocks_by_scan(m, sources, build, sums, plan, summary); !s) return s.context("scanning basis");
        phase(summary.c_str());
    } else {
        // Nothing to reuse (no source, or only blank ones): every changed chunk comes whole.
        for (auto c : build) plan.chunks[c].fetch_whole = true;
    }
    return plan;
}

void finish_plan(const Manifest& m, Plan& plan) {
    plan.reused_bytes = 0;
    for (auto& cp : plan.chunks) {
        const std::uint32_t len = m.chunk_length(cp.chunk);
        switch (cp.action) {
            case ChunkAction::kKeep:
                if (!m.chunks[cp.chunk].is_zero()) plan.reused_bytes += len;
                break;
            case ChunkAction::kCopyChunk: plan.reused_bytes += len; break;
            case ChunkAction::kZero: break;
            case ChunkAction::kBuild: {
                if (cp.blocks.empty()) break;  // fetch_whole already decided
                // Ranges of literals cost more per byte than the stored frame (which was
                // compressed once, harder): past half the chunk, take the frame.
                cp.fetch_whole = cp.fetch_bytes() * 2 > len;
                if (cp.fetch_whole) break;
                for (std::size_t b = 0; b < cp.blocks.size(); ++b) {
                    auto kind = cp.blocks[b].kind;
                    if (kind == BlockSource::kInPlace || kind == BlockSource::kLocal || kind == BlockSource::kCached)
                        plan.reused_bytes += std::min<std::uint64_t>(kBlockSize, len - b * kBlockSize);
                }
                break;
            }
        }
    }
}

}  // namespace imaging::delta
