#include "imaging/http/worker_pool.h"

#include <exception>
#include <iostream>

namespace imaging::http {

WorkerPool::WorkerPool(std::size_t threads, std::size_t max_queued)
    : state_(std::make_shared<State>(max_queued)) {
    if (threads == 0) threads = 1;
    workers_.reserve(threads);
    for (std::size_t i = 0; i < threads; ++i)
        workers_.emplace_back([state = state_] { work(state); });
}

WorkerPool::~WorkerPool() {
    stop();
}

bool WorkerPool::try_post(std::function<void()> job) {
    {
        std::lock_guard lock(state_->mu);
        if (state_->stopped || state_->queue.size() >= state_->max_queued) {
            state_->rejected.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        state_->queue.push_back(std::move(job));
    }
    state_->ready.notify_one();
    return true;
}

std::size_t WorkerPool::queued() const {
    std::lock_guard lock(state_->mu);
    return state_->queue.size();
}

void WorkerPool::stop() {
    std::deque<std::function<void()>> dropped;
    {
        std::lock_guard lock(state_->mu);
        state_->stopped = true;
        dropped.swap(state_->queue);
    }
    state_->ready.notify_all();
    dropped.clear();  // outside the lock: a job's captures may own things that post back
    const auto self = std::this_thread::get_id();
    for (std::thread& t : workers_) {
        if (!t.joinable()) continue;
        if (t.get_id() == self)
            t.detach();
        else
            t.join();
    }
}

void WorkerPool::work(const std::shared_ptr<State>& state) {
    while (true) {
        std::function<void()> job;
        {
            std::unique_lock lock(state->mu);
            state->ready.wait(lock, [&] { return state->stopped || !state->queue.empty(); });
            if (state->stopped) return;
            job = std::move(state->queue.front());
            state->queue.pop_front();
        }
        try {
            job();
        } catch (const std::exception& e) {
            // Jobs catch their own errors; one that does not must not end the worker.
            std::cerr << "http worker: uncaught exception: " << e.what() << std::endl;
        } catch (...) {
        }
        job = nullptr;  // its captures go now (this may destroy the pool), not at the next job
    }
}

}  // namespace imaging::http
