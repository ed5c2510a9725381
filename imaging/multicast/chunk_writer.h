// The real ChunkSink: worker threads decompress each chunk, check its SHA-256 against the
// signed manifest and write it to the Target, so the network thread never waits on zstd,
// hashing or the disk. The queue is unbounded here; the receiving engine bounds the bytes it
// hands over (ReceiverConfig::max_buffered_bytes).
#pragma once

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "chunk_sink.h"
#include "imaging/target.h"

namespace imaging::multicast {

class ChunkWriter final : public ChunkSink {
  public:
    // on_verified(raw bytes) is called from worker threads (progress display).
    ChunkWriter(std::filesystem::path output, unsigned threads,
                std::function<void(std::uint64_t)> on_verified = {});
    ~ChunkWriter() override;  // stops and joins the workers

    Status prepare(const Manifest& manifest) override;
    void submit(std::uint32_t chunk, std::vector<std::uint8_t> frame) override;
    void submit_zero(std::uint32_t chunk) override;
    std::vector<std::uint8_t> recycled_buffer() override;
    std::vector<ChunkResult> take_results() override;
    Status finish() override;

  private:
    struct Job {
        std::uint32_t chunk;
        bool zero;
        std::vector<std::uint8_t> frame;
    };
    void work();
    ChunkResult run(const Job& job, std::vector<std::uint8_t>& scratch);

    std::filesystem::path output_;
    unsigned thread_count_;
    std::function<void(std::uint64_t)> on_verified_;
    Manifest manifest_;
    std::unique_ptr<Target> target_;

    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Job> jobs_;
    std::vector<ChunkResult> results_;
    std::vector<std::vector<std::uint8_t>> free_buffers_;  // at most kMaxFreeBuffers
    static constexpr std::size_t kMaxFreeBuffers = 8;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace imaging::multicast
