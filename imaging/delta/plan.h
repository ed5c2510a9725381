// The receiver's plan: for every chunk of the new image, where its bytes will come from.
// Planning only reads (the output and any basis); nothing is written until the plan is whole.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "basis.h"
#include "block_signature.h"
#include "imaging/manifest.h"
#include "imaging/status.h"

namespace imaging::delta {

enum class ChunkAction : std::uint8_t {
    kKeep,       // the output already holds it (verified by SHA-256)
    kZero,       // an all-zero chunk the output does not yet read as zeros
    kCopyChunk,  // a basis holds it whole at the same offset (verified by SHA-256)
    kBuild,      // assembled from local blocks and fetched bytes, or fetched whole
};

struct BlockSource {
    enum Kind : std::uint8_t {
        kFetch,    // from the server
        kZero,     // all zeros
        kInPlace,  // the output already has it at this very offset: nothing to write
        kLocal,    // copy from sources[source] at offset
        kCached,   // copied aside before writing began (see Receiver): cache offset
    };
    Kind kind = kFetch;
    std::uint8_t source = 0;
    std::uint64_t offset = 0;
};

struct ChunkPlan {
    std::uint32_t chunk = 0;
    ChunkAction action = ChunkAction::kKeep;
    std::uint8_t source = 0;          // kCopyChunk
    bool fetch_whole = false;         // kBuild: ask for the stored frame instead of ranges
    std::vector<BlockSource> blocks;  // kBuild: one per kBlockSize block of the chunk
    std::uint64_t fetch_bytes() const;
};

struct Plan {
    std::vector<ChunkPlan> chunks;  // one per chunk of the manifest, in order
    std::uint64_t reused_bytes = 0;
};

// Asks the server for the block sums of these chunks (in order).
using SignatureFetcher =
    std::function<Result<std::vector<std::vector<BlockSum>>>(const std::vector<std::uint32_t>&)>;

// sources: places to reuse data from, best first; output_source: index of the output among
// them, or -1 when the output is new (then it reads as zeros).
// on_phase, when set, is called after each phase with its name (for --verbose timings).
Result<Plan> make_plan(const Manifest& manifest, const std::vector<const Basis*>& sources,
                       int output_source, const SignatureFetcher& fetch_signatures,
                       const std::function<void(const char*)>& on_phase = {});

// Decides fetch_whole and tallies reused bytes; call after the block sources are final.
void finish_plan(const Manifest& manifest, Plan& plan);

}  // namespace imaging::delta
