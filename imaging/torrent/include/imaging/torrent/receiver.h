// Receiving an image through the swarm: libtorrent downloads the pack (and serves it to the
// rack's other hosts), each chunk is decompressed, verified and written to the target as soon
// as its pieces are in, and after the last chunk the host goes on seeding for seed_for.
//
// Where the pack is held while the host receives and seeds:
// - in memory (memory_disk_io.h), the default: no staging file is written or read back;
// - in STAGING/chunks.pack when keep_staging asks for the file, when one is already there
//   (resumable: a staging pack left by an earlier run is hash-checked and what it already
//   holds is not downloaded again), or when the pack would take more than half of the
//   host's available memory.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>

#include "imaging/digest.h"
#include "imaging/progress.h"
#include "imaging/status.h"
#include "imaging/torrent/image_torrent.h"
#include "imaging/torrent/lan_settings.h"

namespace imaging::torrent {

struct ReceiveReport {
    std::uint64_t bytes_received = 0;    // payload of every block received, failed ones too
    std::uint64_t bytes_from_seed = 0;   // from peers with the server seed's peer-id prefix
    std::uint64_t bytes_from_peers = 0;  // from other hosts
    std::uint64_t bytes_written = 0;     // raw bytes of verified chunks written to the target
    std::uint64_t bytes_uploaded = 0;    // payload sent to other hosts (so far)
    int hash_failures = 0;               // pieces that failed their hash and were fetched again
    // Pieces whose SHA-1 was computed; the others passed on their chunks' SHA-256 alone
    // (piece_verifier.h). A staging file's pieces are all hashed.
    std::uint64_t pieces_hashed = 0;
    std::size_t chunks = 0;
    bool pack_in_memory = false;         // no staging file (see above)
    double seconds = 0;                  // start to verified image
    Digest sha256{};                     // the manifest's image SHA-256, once every chunk passed
};

struct ReceiveOptions {
    std::filesystem::path output;       // regular file or block device
    std::filesystem::path staging_dir;  // the receive's lock; the pack when it is not in memory
    bool keep_staging = false;
    SessionOptions session;
    // This host's certificate and key (PEM) for a torrent with a CA (ssl_peers.h); "" otherwise.
    std::string peer_pem;
    std::chrono::seconds seed_for{0};         // after the image is verified
    std::chrono::seconds stall_timeout{120};  // no block for this long: fail
    std::function<bool()> should_stop;        // polled a few times a second
    std::function<void(const ReceiveReport&)> on_verified;  // before seeding starts
    Progress* progress = nullptr;
};

Result<ReceiveReport> run_receive(const ImageTorrent& torrent, const ReceiveOptions& options);

}  // namespace imaging::torrent
