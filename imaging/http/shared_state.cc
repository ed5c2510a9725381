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
    std::lock_guard lock(mu_);
    if (stopped_ || sessions_.size() >= limits_.max_connections) return false;
    sessions_.emplace(session.get(), session);
    return true;
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
