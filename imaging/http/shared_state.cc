#include "shared_state.h"

#include <vector>

#include "http_session.h"

namespace imaging::http {

SharedState::SharedState(Router router, Limits limits, std::optional<TlsOptions> tls)
    : router_(std::move(router)),
      limits_(limits),
      tls_(std::move(tls)),
      pool_(limits.worker_threads > 0
                ? std::make_unique<WorkerPool>(limits.worker_threads, limits.max_queued_requests)
                : nullptr) {}

bool SharedState::join(const std::shared_ptr<Session>& session) {
    std::shared_ptr<Session> evicted;  // closed, and released, outside the lock
    {
        std::lock_guard lock(mu_);
        if (stopped_) return false;
        if (sessions_.size() >= limits_.max_connections) {
            // The kept connection idle longest makes room (its client reconnects when it next
            // asks); none idle: refused. A scan, only when full.
            std::int64_t oldest = 0;
            for (auto& [_, weak] : sessions_) {
                auto open = weak.lock();
                if (!open) continue;
                const std::int64_t since = open->idle_since.load();
                if (since != 0 && (oldest == 0 || since < oldest)) {
                    oldest = since;
                    evicted = std::move(open);
                }
            }
            // Chosen once: cleared so that the next newcomer picks another.
            if (!evicted || !evicted->idle_since.compare_exchange_strong(oldest, 0)) {
                evicted.reset();
            }
            if (!evicted) return false;
            ++evicted_;
        }
        sessions_.emplace(session.get(), session);
    }
    if (evicted) evicted->close();
    return true;
}

std::size_t SharedState::evicted() const {
    std::lock_guard lock(mu_);
    return evicted_;
}

void SharedState::leave(const Session* session) {
    std::lock_guard lock(mu_);
    sessions_.erase(session);
}

std::size_t SharedState::size() const {
    std::lock_guard lock(mu_);
    return sessions_.size();
}

bool SharedState::stopped() const {
    std::lock_guard lock(mu_);
    return stopped_;
}

void SharedState::stop() {
    std::vector<std::weak_ptr<Session>> open;
    {
        std::lock_guard lock(mu_);
        stopped_ = true;
        for (auto& [_, weak] : sessions_) open.push_back(weak);
    }
    // Closing happens outside the lock: a session's close may run leave() synchronously.
    for (auto& weak : open) {
        if (auto session = weak.lock()) session->close();
    }
    if (pool_) pool_->stop();
}

}  // namespace imaging::http
