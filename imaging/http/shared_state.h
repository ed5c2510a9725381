// What every session of one Server shares: the router, the limits, the worker pool and the set
// of open sessions (to enforce max_connections and to close them all on stop). Thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "imaging/http/limits.h"
#include "imaging/http/router.h"
#include "imaging/http/tls.h"
#include "imaging/http/worker_pool.h"

namespace imaging::http {

class Session;

class SharedState {
public:
    SharedState(Router router, Limits limits, std::optional<TlsOptions> tls = std::nullopt);

    const Router& router() const { return router_; }
    const Limits& limits() const { return limits_; }
    // Null for a plain HTTP server.
    const TlsOptions* tls() const { return tls_ ? &*tls_ : nullptr; }
    // Null when limits().worker_threads is 0: every handler runs on the I/O threads.
    WorkerPool* pool() const { return pool_.get(); }

    // Admits a session; at max_connections it closes the kept connection idle longest to
    // make room. False when the server is stopped, or full with no connection idle.
    bool join(const std::shared_ptr<Session>& session);
    // Kept connections closed to admit new ones.
    std::size_t evicted() const;
    void leave(const Session* session);
    std::size_t size() const;
    // Refuses new sessions, closes the open ones, and stops the pool (waiting for the
    // handlers that run; their answers go nowhere).
    void stop();
    bool stopped() const;

private:
    const Router router_;
    const Limits limits_;
    const std::optional<TlsOptions> tls_;
    const std::unique_ptr<WorkerPool> pool_;
    mutable std::mutex mu_;
    bool stopped_ = false;
    std::size_t evicted_ = 0;
    std::unordered_map<const Session*, std::weak_ptr<Session>> sessions_;
};

}  // namespace imaging::http
