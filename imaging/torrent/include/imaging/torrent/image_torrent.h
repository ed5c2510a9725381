// The .torrent of an image, and the check that a torrent is the signed image it claims to be.
//
// What the torrent covers: chunks.pack, the pack of compressed chunks, byte for byte, as one
// file. So the wire carries exactly the compressed frames (nothing is recompressed, and a
// seed's pack on disk is its storage as is), and every receiver keeps the pack in a staging
// file that it seeds from while it decompresses and verifies each chunk into the target as
// soon as the pieces covering the chunk's frame are complete (see chunk_assembler.h). A custom
// libtorrent disk interface writing raw chunks straight to the target was the alternative; it
// was rejected because peers must be served the compressed bytes the piece hashes cover, so a
// receiver has to keep them anyway, and a staging file lets libtorrent's own storage do that.
//
// Torrents are v1-only, so a swarm has exactly one info-hash (no v1/v2 pair for the tracker
// to merge). Not v2: libtorrent 2.0.8 corrupts its heap when a v2 piece fails its hash (seen
// with a corrupt peer in tests/e2e/test_torrent_faults.sh, with mmap and posix storage alike),
// and SHA-1 piece hashes only decide what to fetch again: integrity rests on the SHA-256 of
// every chunk in the signed manifest, checked before anything is written. The torrent
// carries that manifest inside the info dictionary under kManifestInfoKey, so the info-hash
// covers it. A receiver refuses a torrent whose manifest is not signed by its key, or whose
// file is not that manifest's pack; a piece that passes the
// torrent's hash but holds a chunk failing the manifest's SHA-256 is caught when it is decoded.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <libtorrent/torrent_info.hpp>

#include "imaging/manifest.h"
#include "imaging/signing.h"
#include "imaging/status.h"

namespace imaging::torrent {

inline constexpr const char* kManifestInfoKey = "provisioner manifest";
inline constexpr int kDefaultPieceSize = 256 << 10;

struct TorrentOptions {
    std::vector<std::string> trackers;  // announce URLs, e.g. http://server:8080/announce
    int piece_size = kDefaultPieceSize;   // power of two, >= 16 KiB
    // PEM of the swarm's CA: an SSL torrent, whose peers must hold a certificate it signed
    // (peer_certs.h). Empty: an open swarm, anyone who knows the info-hash may join.
    std::string ca_cert_pem = {};
};

// Hashes IMAGEDIR/chunks.pack and returns the bencoded torrent. Deterministic for the same
// image and options (no creation date), so a seed can rebuild the torrent it was given.
Result<std::vector<char>> make_image_torrent(const std::filesystem::path& image_dir,
                                             const TorrentOptions& options);

struct ImageTorrent {
    std::shared_ptr<lt::torrent_info> info;
    Manifest manifest;
    std::string info_hash;  // the 20 bytes announced to the tracker (truncated SHA-256)
    std::string ca_cert_pem;  // the info dictionary's "ssl-cert": "" for an open swarm
    std::string info_hash_hex() const;
};

// Parses bytes and checks the embedded manifest's signature with key and that the torrent's
// single file is that manifest's pack (and its CA, if any, is a certificate).
Result<ImageTorrent> load_image_torrent(std::span<const char> bytes, const VerifyKey& key);
// The same checks without the signature: for the side that signed the image.
Result<ImageTorrent> load_image_torrent_unverified(std::span<const char> bytes);

Result<std::vector<char>> read_torrent_file(const std::filesystem::path& path);

}  // namespace imaging::torrent
