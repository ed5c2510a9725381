// A delta receive that makes an image directory (manifest.json and chunks.pack) instead of a
// raw disk: what a rack server's image cache needs to serve an image on from its own copy
// (provisioner/server/rack_image_cache.h). The pack's layout is the signed manifest's, so the
// copy is the image itself, servable by `imaging serve` and verifiable like the original.
//
// Only what changed moves: a chunk that an earlier copy (a basis: another image directory,
// usually an older version of the same image) holds with the same SHA-256 and the same stored
// size is copied from it; every other non-zero chunk's stored frame is fetched from the server.
//
// Guarantees: the manifest is verified with the key and the pin before anything is asked or
// written; every frame, copied or fetched, is decompressed and checked against the manifest's
// SHA-256 and stored size before it is written; the directory is built under a temporary name
// beside dest (".NAME.part-*") and renamed into place only once whole and synced, so a killed
// or failed receive never leaves a half image at dest (a failed one removes its temporary; a
// killed one's is for the caller to sweep, remove_partial() below). A full disk is an error
// naming the space it needed; nothing else is touched.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "framed_stream.h"
#include "imaging/manifest.h"
#include "imaging/progress.h"
#include "imaging/secret.h"
#include "imaging/signing.h"
#include "imaging/status.h"

namespace imaging::delta {

struct PackReceiveOptions {
    std::string server;               // ADDR:PORT
    std::filesystem::path dest;       // the image directory to make; must not exist yet
    std::vector<std::filesystem::path> bases;  // image directories to reuse frames from
    ManifestPin expect;
    std::chrono::seconds timeout{60};  // per network operation
    std::uint64_t batch_bytes = 16u << 20;  // stored bytes asked for in one kWant
    std::optional<Secret> secret;           // as ReceiveOptions (receiver.h)
    std::string receiver_id;                // as ReceiveOptions: a receipt once all is synced
};

struct PackReceiveReport {
    Manifest manifest;
    std::uint64_t chunks_stored = 0;   // non-zero chunks of the image
    std::uint64_t chunks_reused = 0;   // copied from a basis
    std::uint64_t chunks_fetched = 0;  // fetched from the server
    std::uint64_t bytes_fetched = 0;   // stored (compressed) bytes of the fetched frames
    std::uint64_t bytes_received = 0;  // from the network, all protocol bytes
    bool delivery_confirmed = false;
    double seconds = 0;
};

// Over a connected stream (tests, the fuzzer); the stream is left open.
Result<PackReceiveReport> receive_pack_over(FramedStream& stream, const VerifyKey& key,
                                            const PackReceiveOptions& options, Progress* progress);
// Connects to options.server.
Result<PackReceiveReport> receive_pack(const PackReceiveOptions& options, const VerifyKey& key,
                                       Progress* progress);

// Removes the temporaries that killed receives left in dir (".*.part-*"); how many it removed.
std::size_t remove_partial(const std::filesystem::path& dir);

}  // namespace imaging::delta
