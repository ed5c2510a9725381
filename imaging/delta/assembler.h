// Turns one chunk's plan (and whatever the server sent for it) into verified bytes on the
// output. Thread-safe: workers assemble different chunks at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

#include "basis.h"
#include "imaging/manifest.h"
#include "imaging/target.h"
#include "plan.h"

namespace imaging::delta {

struct ChunkJob {
    const ChunkPlan* plan = nullptr;
    enum Payload : std::uint8_t { kNone, kFrame, kLiterals } payload_kind = kNone;
    std::vector<std::uint8_t> payload;
};

class ChunkAssembler {
public:
    enum class Outcome { kWritten, kMismatch };

    // cache holds the old blocks copied aside (BlockSource::kCached offsets point into it).
    ChunkAssembler(const Manifest& manifest, Target& target, const std::vector<const Basis*>& sources,
                   const std::vector<std::uint8_t>& cache);

    // kMismatch: local blocks plus literals did not produce the signed chunk (a weak+strong
    // collision, or old data that changed under us); nothing was written, fetch it whole.
    // An error means the output could not be written or the server sent a bad chunk.
    Result<Outcome> process(const ChunkJob& job);
    std::uint64_t bytes_written() const { return bytes_written_; }

private:
    Status write_changed(const ChunkPlan& plan, std::span<const std::uint8_t> chunk);

    const Manifest& manifest_;
    Target& target_;
    const std::vector<const Basis*>& sources_;
    const std::vector<std::uint8_t>& cache_;
    std::atomic<std::uint64_t> bytes_written_{0};
};

}  // namespace imaging::delta
