#include "chunk_writer.h"

#include "imaging/chunk.h"

namespace imaging::multicast {

ChunkWriter::ChunkWriter(std::filesystem::path output, unsigned threads,
                         std::function<void(std::uint64_t)> on_verified)
    : output_(std::move(output)),
      thread_count_(std::max(1u, threads)),
      on_verified_(std::move(on_verified)) {}

ChunkWriter::~ChunkWriter() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
}

Status ChunkWriter::prepare(const Manifest& manifest) {
    manifest_ = manifest;
    auto target = Target::open(output_, manifest.raw_size);
    if (!target) return target.status().context("opening " + output_.string());
    target_ = std::move(target.value());
    for (unsigned i = 0; i < thread_count_; ++i) threads_.emplace_back([this] { work(); });
    return Status::ok();
}

void ChunkWriter::submit(std::uint32_t chunk, std::vector<std::uint8_t> frame) {
    {
        std::lock_guard lock(mu_);
        jobs_.push_back(Job{chunk, false, std::move(frame)});
    }
    cv_.notify_one();
}

void ChunkWriter::submit_zero(std::uint32_t chunk) {
    {
        std::lock_guard lock(mu_);
        jobs_.push_back(Job{chunk, true, {}});
    }
    cv_.notify_one();
}

std::vector<std::uint8_t> ChunkWriter::recycled_buffer() {
    std::lock_guard lock(mu_);
    if (free_buffers_.empty()) return {};
    std::vector<std::uint8_t> b = std::move(free_buffers_.back());
    free_buffers_.pop_back();
    return b;
}

std::vector<ChunkResult> ChunkWriter::take_results() {
    std::lock_guard lock(mu_);
    return std::exchange(results_, {});
}

ChunkResult ChunkWriter::run(const Job& job, std::vector<std::uint8_t>& scratch) {
    std::uint64_t offset = manifest_.chunk_offset(job.chunk);
    std::uint32_t length = manifest_.chunk_length(job.chunk);
    if (job.zero) {
        Status s = target_->zero_range(offset, length);
        return ChunkResult{job.chunk, s.context("zeroing chunk " + std::to_string(job.chunk)), !s};
    }
    scratch.resize(length);
    Status s = decode_chunk(job.frame, scratch, manifest_.chunks[job.chunk].sha256);
    if (!s) return ChunkResult{job.chunk, s, false};
    s = target_->write_at(offset, scratch);
    if (!s)
        return ChunkResult{job.chunk, s.context("writing chunk " + std::to_string(job.chunk)),
                           true};
    if (on_verified_) on_verified_(length);
    return ChunkResult{job.chunk, Status::ok(), false};
}

void ChunkWriter::work() {
    std::vector<std::uint8_t> scratch;
    for (;;) {
        Job job;
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
            if (stopping_) return;
            job = std::move(jobs_.front());
            jobs_.pop_front();
        }
        ChunkResult r = run(job, scratch);
        std::lock_guard lock(mu_);
        results_.push_back(std::move(r));
        if (job.frame.capacity() > 0 && free_buffers_.size() < kMaxFreeBuffers)
            // Its size kept: resizing it to the next object's size zero-fills only what it
            // grows by, not the whole frame (chunk frames are of similar sizes).
            free_buffers_.push_back(std::move(job.frame));
    }
}

Status ChunkWriter::finish() {
    if (!target_) return Status::error("no image to finish");
    return target_->sync().context("syncing " + output_.string());
}

}  // namespace imaging::multicast
