// From the received pack to the target: takes a chunk's frame from the partly downloaded pack
// (a view of it in memory, memory_pack.h, or read from the staging file), decompresses and
// verifies it against the signed manifest, and writes the raw chunk.
// - write_chunk: for chunks whose pieces have all passed their SHA-1 (ChunkAssembler, the
//   staging file), so the frame is complete; a frame that still fails the manifest's SHA-256
//   means the torrent's piece hashes describe another pack, and nothing of it is written.
// - try_write_chunk: for a chunk whose pieces are all in but not yet hashed (the memory pack,
//   piece_verifier.h); a frame that fails says so and writes nothing.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "imaging/manifest.h"
#include "imaging/status.h"
#include "imaging/target.h"
#include "imaging/torrent/memory_pack.h"

namespace imaging::torrent {

class ChunkWriter {
public:
    // manifest and target (and pack) must outlive the writer.
    ChunkWriter(const Manifest& manifest, std::filesystem::path staging_pack, Target& target);
    ChunkWriter(const Manifest& manifest, const MemoryPack& pack, Target& target);
    ~ChunkWriter();
    ChunkWriter(const ChunkWriter&) = delete;
    ChunkWriter& operator=(const ChunkWriter&) = delete;

    // Makes every all-zero chunk read as zeros in the target (holes in a file).
    Status write_zero_chunks();
    // From the memory pack, write_chunk may run on several threads at once (for different
    // chunks); from the staging file, on one thread at a time.
    Status write_chunk(std::size_t index);
    // True: written; false: the frame does not decode to the manifest's chunk. An error is
    // the target's (or the staging file's).
    Result<bool> try_write_chunk(std::size_t index);
    std::uint64_t bytes_written() const { return bytes_written_; }
    std::size_t chunks_written() const { return chunks_written_; }
    bool in_memory() const { return memory_ != nullptr; }

private:
    Status open_staging();
    // The chunk's frame: a view of the memory pack, or read from the staging file into frame_.
    Result<std::span<const std::uint8_t>> frame_of(const ChunkEntry& c);

    const Manifest& manifest_;
    std::filesystem::path staging_pack_;
    const MemoryPack* memory_ = nullptr;
    Target& target_;
    int fd_ = -1;
    std::vector<std::uint8_t> frame_;  // staging file only
    std::atomic<std::uint64_t> bytes_written_{0};
    std::atomic<std::size_t> chunks_written_{0};
};

}  // namespace imaging::torrent
