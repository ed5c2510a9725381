#include "imaging/worker_pool.h"

#include <algorithm>

namespace imaging {

WorkerPool::WorkerPool(unsigned threads, std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned t = 0; t < threads; ++t) threads_.emplace_back([this] { work(); });
}

WorkerPool::~WorkerPool() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    not_empty_.notify_all();
    for (auto& t : threads_) t.join();
}

bool WorkerPool::submit(Task task) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return queue_.size() < capacity_ || !first_error_.is_ok(); });
    if (!first_error_.is_ok()) return false;
    queue_.push_back(std::move(task));
    not_empty_.notify_one();
    return true;
}

Status WorkerPool::wait() {
    std::unique_lock lock(mu_);
    idle_.wait(lock, [&] { return (queue_.empty() && running_ == 0) || !first_error_.is_ok(); });
    return first_error_;
}

bool WorkerPool::failed() const {
    std::lock_guard lock(mu_);
    return !first_error_.is_ok();
}

void WorkerPool::work() {
    for (;;) {
        Task task;
        bool skip = false;
        {
            std::unique_lock lock(mu_);
            not_empty_.wait(lock, [&] { return !queue_.empty() || stopping_; });
            if (queue_.empty()) return;
            task = std::move(queue_.front());
            queue_.pop_front();
            ++running_;
            skip = !first_error_.is_ok();
            not_full_.notify_one();
        }
        Status s = skip ? Status::ok() : task();
        std::lock_guard lock(mu_);
        --running_;
        if (!s && first_error_.is_ok()) {
            first_error_ = s;
            queue_.clear();
            not_full_.notify_all();
        }
        if (queue_.empty() && running_ == 0) idle_.notify_all();
        if (!first_error_.is_ok()) idle_.notify_all();
    }
}

}  // namespace imaging
