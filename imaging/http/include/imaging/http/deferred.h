// An answer that comes later, from another thread, while the request holds no thread: not
// an I/O thread, not a worker of the pool (a BMC being called for the request, a child
// finishing). The session calls start once, on its own strand; start arranges for deliver
// to be called at most once, from any thread, with the answer. When no answer has come
// within limit, fallback is sent instead and a later one is dropped; when the connection
// closes first (the client went, the server stops) neither is sent and deliver does
// nothing. Whatever deliver captures lives until it is called or destroyed.
#pragma once

#include <chrono>
#include <functional>
#include <utility>

#include <boost/beast/http.hpp>

namespace imaging::http {

struct DeferredResponse {
    using Response = boost::beast::http::response<boost::beast::http::string_body>;
    using Deliver = std::function<void(Response)>;
    std::function<void(Deliver)> start;
    std::chrono::milliseconds limit{10'000};
    Response fallback;
};

// For work started before the session waits (queued by the handler on its worker): a
// DeferredResponse, and the function that answers it, which may be called before or after
// the session starts waiting, from any thread, at most once.
std::pair<DeferredResponse, DeferredResponse::Deliver> deferred_response(
    std::chrono::milliseconds limit, DeferredResponse::Response fallback);

}  // namespace imaging::http
