// From the staging pack to the target: reads a chunk's frame from the partly downloaded pack,
// decompresses and verifies it against the signed manifest, and writes the raw chunk. Only
// called for chunks whose pieces have all passed their hashes (ChunkAssembler), so the frame
// is complete; a frame that still fails the manifest's SHA-256 means the torrent's piece
// hashes describe another pack, and nothing of it is written.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "imaging/manifest.h"
#include "imaging/status.h"
#include "imaging/target.h"

namespace imaging::torrent {

class ChunkWriter {
public:
    // manifest and target must outlive the writer.
    ChunkWriter(const Manifest& manifest, std::filesystem::path staging_pack, Target& target);
    ~ChunkWriter();
    ChunkWriter(const ChunkWriter&) = delete;
    ChunkWriter& operator=(const ChunkWriter&) = delete;

    // Makes every all-zero chunk read as zeros in the target (holes in a file).
    Status write_zero_chunks();
    Status write_chunk(std::size_t index);
    std::uint64_t bytes_written() const { return bytes_written_; }
    std::size_t chunks_written() const { return chunks_written_; }

private:
    Status open_staging();

    const Manifest& manifest_;
    std::filesystem::path staging_pack_;
    Target& target_;
    int fd_ = -1;
    std::vector<std::uint8_t> frame_, raw_;
    std::uint64_t bytes_written_ = 0;
    std::size_t chunks_written_ = 0;
};

}  // namespace imaging::torrent
