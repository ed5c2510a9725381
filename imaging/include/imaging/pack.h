// `imaging pack`: raw disk image -> signed chunked image directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "imaging/manifest.h"
#include "imaging/signing.h"
#include "imaging/status.h"

namespace imaging {

// 1 MiB: small enough that all-zero regions of a sparse ext4 image are skipped at a fine grain,
// that a changed region re-sends little when compared chunk by chunk, and that a multicast
// receiver can verify a chunk after ~700 datagrams; large enough that zstd still compresses
// well (it sees a 1 MiB window) and the manifest of a 2 GiB image stays ~300 KB.
inline constexpr std::uint32_t kDefaultChunkSize = 1u << 20;

struct PackOptions {
    std::string name = "image";
    std::string version = "1";
    std::uint32_t chunk_size = kDefaultChunkSize;
    int level = 9;        // zstd level: packing happens once, every transfer gains from it
    unsigned threads = 0;  // 0: one per core
    std::function<void(std::uint64_t raw_done, std::uint64_t raw_total)> on_progress;
};

// Writes OUTDIR/chunks.pack and OUTDIR/manifest.json (created atomically, last).
Result<Manifest> pack_image(const std::filesystem::path& raw, const std::filesystem::path& outdir,
                            const SigningKey& key, const PackOptions& options);

}  // namespace imaging
