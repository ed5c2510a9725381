#include "imaging/http/deferred.h"

#include <memory>
#include <mutex>
#include <optional>

namespace imaging::http {

std::pair<DeferredResponse, DeferredResponse::Deliver> deferred_response(
    std::chrono::milliseconds limit, DeferredResponse::Response fallback) {
    using Response = DeferredResponse::Response;
    // Whichever of the answer and the session comes second hands the answer over.
    struct Meeting {
        std::mutex mu;
        std::optional<Response> answer;
        DeferredResponse::Deliver waiting;
    };
    auto meeting = std::make_shared<Meeting>();
    DeferredResponse later;
    later.limit = limit;
    later.fallback = std::move(fallback);
    later.start = [meeting](DeferredResponse::Deliver deliver) {
        std::unique_lock lock(meeting->mu);
        if (!meeting->answer) {
            meeting->waiting = std::move(deliver);
            return;
        }
        Response answer = std::move(*meeting->answer);
        lock.unlock();
        deliver(std::move(answer));
    };
    auto answer = [meeting](Response r) {
        std::unique_lock lock(meeting->mu);
        if (!meeting->waiting) {
            meeting->answer = std::move(r);
            return;
        }
        auto deliver = std::move(meeting->waiting);
        meeting->waiting = nullptr;
        lock.unlock();
        deliver(std::move(r));
    };
    return {std::move(later), std::move(answer)};
}

}  // namespace imaging::http
