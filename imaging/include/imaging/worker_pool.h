// A fixed set of threads working through a bounded queue of tasks, so a producer (a network
// thread) hands off decompression and writes without stalling, and without running so far
// ahead that memory grows without bound. The first failed task stops the pool.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "imaging/status.h"

namespace imaging {

class WorkerPool {
public:
    using Task = std::function<Status()>;
    // threads 0: one per core. capacity: queued tasks before submit() blocks.
    WorkerPool(unsigned threads, std::size_t capacity);
    ~WorkerPool();  // finishes queued tasks

    // Blocks while the queue is full; false once a task has failed (the task is dropped).
    bool submit(Task task);
    // Waits for every queued task; returns the first failure.
    Status wait();
    bool failed() const;

private:
    void work();
    mutable std::mutex mu_;
    std::condition_variable not_empty_, not_full_, idle_;
    std::deque<Task> queue_;
    std::size_t capacity_;
    std::size_t running_ = 0;
    bool stopping_ = false;
    Status first_error_;
    std::vector<std::thread> threads_;
};

}  // namespace imaging
