// Where the receiving engine hands complete chunks: something that decompresses, verifies
// against the manifest and writes them, off the network thread (ChunkWriter), or a fake in
// tests. Results come back through take_results(), polled by the network thread.
#pragma once

#include <cstdint>
#include <vector>

#include "imaging/manifest.h"
#include "imaging/status.h"

namespace imaging::multicast {

struct ChunkResult {
    std::uint32_t chunk = 0;
    Status status;       // an error: the chunk did not verify; receive it again
    bool fatal = false;  // the error is local (the target could not be written): give up
};

class ChunkSink {
  public:
    virtual ~ChunkSink() = default;
    // Called once, when the signed manifest has been received and verified.
    virtual Status prepare(const Manifest& manifest) = 0;
    // A chunk's complete zstd frame (what the sender claims it is: still to be verified).
    virtual void submit(std::uint32_t chunk, std::vector<std::uint8_t> frame) = 0;
    // An all-zero chunk: nothing to receive, only to make read as zeros.
    virtual void submit_zero(std::uint32_t chunk) = 0;
    // A buffer a finished chunk's frame left behind (its old bytes and size kept), to assemble
    // the next object in without a fresh allocation's page faults or a whole zero-fill; an
    // empty vector when none is free. Thread-safe.
    virtual std::vector<std::uint8_t> recycled_buffer() { return {}; }
    // Results of submitted chunks finished since the last call. Thread-safe.
    virtual std::vector<ChunkResult> take_results() = 0;
    // Every chunk verified: flush to stable storage.
    virtual Status finish() = 0;
};

}  // namespace imaging::multicast
