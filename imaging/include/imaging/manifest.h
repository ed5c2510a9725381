// The signed description of a chunked image (see DESIGN.md, "Image format").
//
// An image directory holds manifest.json and chunks.pack. The raw disk image is cut into
// chunk_size pieces (the last may be shorter); each non-zero chunk is one independent zstd
// frame in the pack at [pack_offset, pack_offset + pack_size); an all-zero chunk has
// pack_size 0 and is not stored. The signature is Ed25519 over signed_payload(): the canonical
// JSON of every other field, so no field can change without breaking it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "imaging/digest.h"
#include "imaging/signing.h"
#include "imaging/status.h"

namespace imaging {

inline constexpr int kManifestFormat = 1;
inline constexpr const char* kManifestFile = "manifest.json";
inline constexpr const char* kPackFile = "chunks.pack";

struct ChunkEntry {
    Digest sha256{};             // of the chunk's raw bytes
    std::uint64_t pack_offset = 0;
    std::uint32_t pack_size = 0;  // 0: an all-zero chunk, not stored
    bool is_zero() const { return pack_size == 0; }
};

struct Manifest {
    std::string name;
    std::string version;
    std::uint64_t raw_size = 0;
    std::uint32_t chunk_size = 0;
    Digest image_sha256{};
    std::uint64_t pack_size = 0;
    std::vector<ChunkEntry> chunks;
    std::string signature;  // hex; empty until signed

    std::uint64_t chunk_offset(std::size_t i) const { return std::uint64_t(i) * chunk_size; }
    std::uint32_t chunk_length(std::size_t i) const;
    std::uint64_t stored_bytes() const;  // sum of pack_size: what a fresh copy moves
    std::uint64_t nonzero_raw_bytes() const;

    std::string signed_payload() const;
    std::string to_json() const;  // signed_payload plus the signature
    Status sign(const SigningKey& key);
    Status verify_signature(const VerifyKey& key) const;

    // Parses and checks structure (sizes, offsets inside the pack, chunk count); not the signature.
    static Result<Manifest> parse(std::string_view json);
};

// The image a receiver was told to expect (a job names it): a signed manifest of any other
// image, an older version or a template signed with the same key, is refused before a byte is
// written. Empty fields accept anything, as `imaging receive` without --expect-* does.
struct ManifestPin {
    std::string image_sha256;  // hex, of the raw image
    std::string name;
    std::string version;

    bool empty() const { return image_sha256.empty() && name.empty() && version.empty(); }
    // "the sender offers dom0@1 (sha256 ab12...), not the expected dom0@2 (sha256 cd34...)".
    Status check(const Manifest& m) const;
};

// Reads IMAGEDIR/manifest.json and checks its signature with key.
Result<Manifest> load_manifest(const std::filesystem::path& image_dir, const VerifyKey& key);
// Reads it without a key: for the server side, which signed it itself.
Result<Manifest> load_manifest_unverified(const std::filesystem::path& image_dir);

}  // namespace imaging
