// A fixed set of threads taking jobs from a bounded queue: where imaging::http::Server runs the
// handlers of Dispatch::worker_pool routes, so that a handler that blocks (a store, a disk, a
// child, the network) holds one worker, never an I/O thread.
//
// Thread-safe. try_post never blocks: a full queue is the caller's to answer (503). The pool
// may be destroyed on one of its own workers (the last owner of a job's captures may be the
// job): that worker is detached, the others are joined.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace imaging::http {

class WorkerPool {
  public:
    // threads >= 1 workers; at most max_queued jobs waiting for one (running ones not counted).
    WorkerPool(std::size_t threads, std::size_t max_queued);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // Queues job; false (and job dropped) when the queue is full or the pool is stopped.
    bool try_post(std::function<void()> job);
    // Refuses new jobs, drops the queued ones, waits for the running ones. Idempotent.
    void stop();

    std::size_t threads() const { return workers_.size(); }
    std::size_t max_queued() const { return state_->max_queued; }
    std::size_t queued() const;
    // Jobs try_post refused (a full queue, or a stopped pool) since the pool was made.
    std::uint64_t rejected() const { return state_->rejected.load(std::memory_order_relaxed); }

  private:
    // Shared with the workers, so that a detached one outlives the pool safely.
    struct State {
        explicit State(std::size_t max) : max_queued(max) {}
        const std::size_t max_queued;
        std::mutex mu;
        std::condition_variable ready;
        std::deque<std::function<void()>> queue;
        bool stopped = false;
        std::atomic<std::uint64_t> rejected{0};
    };
    static void work(const std::shared_ptr<State>& state);

    std::shared_ptr<State> state_;
    std::vector<std::thread> workers_;
};

}  // namespace imaging::http
