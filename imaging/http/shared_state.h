// What every session of one Server shares: the router, the limits and the set of open
// sessions (to enforce max_connections and to close them all on stop). Thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "imaging/http/limits.h"
#include "imaging/http/router.h"

namespace imaging::http {

class HttpSession;

class SharedState {
public:
    SharedState(Router router, Limits limits);

    const Router& router() const { return router_; }
    const Limits& limits() const { return limits_; }

    // Admits a session; false when the server is stopped or at max_connections.
    bool join(const std::shared_ptr<HttpSession>& session);
    void leave(const HttpSession* session);
    std::size_t size() const;
    // Refuses new sessions and closes the open ones.
    void stop();
    bool stopped() const;

private:
    const Router router_;
    const Limits limits_;
    mutable std::mutex mu_;
    bool stopped_ = false;
    std::unordered_map<const HttpSession*, std::weak_ptr<HttpSession>> sessions_;
};

}  // namespace imaging::http
