// `imaging receive --transport delta`: brings an output (file or block device) to the image a
// delta server offers, reusing whatever the output or a basis already holds.
//
// Guarantees: every chunk is checked against the signed manifest before it is written; the
// output's first chunk (partition table, superblock) is written last, so an interrupted
// receive never leaves something that looks like the new image; success is reported only
// after every chunk is verified and flushed. A rerun after an interruption finds the chunks
// it already wrote and verified (the output is its own basis) and fetches only the rest.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "imaging/digest.h"
#include "imaging/manifest.h"
#include "imaging/progress.h"
#include "imaging/secret.h"
#include "imaging/status.h"

namespace imaging::delta {

struct ReceiveOptions {
    std::string server;  // ADDR:PORT
    std::filesystem::path output;
    std::optional<std::filesystem::path> basis;
    std::filesystem::path pubkey;
    ManifestPin expect;  // refused before anything is written when the manifest differs
    std::chrono::seconds timeout{60};  // per network operation
    unsigned threads = 0;              // assembly threads; 0: one per core
    // Largest amount of old data copied aside before writing starts (see receiver.cc).
    std::uint64_t max_cache_bytes = 512u << 20;
    bool verbose = false;  // phase timings on stderr
    // With a secret, the server must prove it holds it before its manifest is even read, and
    // we prove we do (handshake_auth.h); a server that does not is refused.
    std::optional<Secret> secret;
    // With a secret: this receiver's id (delivery.h), whose receiver key the secret then is.
    // The hello names it, and once the image is verified and synced a receipt proves it to the
    // server, which records the delivery and acknowledges; without the acknowledgement the
    // receive fails ("the server did not confirm delivery").
    std::string receiver_id;
};

struct ReceiveReport {
    std::uint64_t bytes_received = 0;  // from the network, all protocol bytes
    std::uint64_t bytes_reused = 0;    // image bytes taken from the output or basis
    std::uint64_t bytes_written = 0;
    std::uint64_t chunks_fetched = 0;
    std::uint64_t chunks_retried = 0;
    double seconds = 0;
    Digest sha256{};
    std::string name, version;
    bool delivery_confirmed = false;  // the server acknowledged our receipt
};

Result<ReceiveReport> receive(const ReceiveOptions& options, Progress* progress);

}  // namespace imaging::delta
