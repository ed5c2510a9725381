// Live updates for the web UI, pushed as server-sent events (text/event-stream) on
// GET /api/v1/stream, so that no page polls. Three kinds of message:
//   event: event   id: N   data: Event (json_views.h)  every new row of the event log
//   event: change          data: {"topics": [...]}     what a successful state-changing
//                                                       request touched ("hosts",
//                                                       "deployments", "vms", ...)
//   ": keep-alive"                                     a comment when nothing else was sent
// A page refetches what it shows when a topic it shows changes. Changes are gathered and sent
// at most once a period, so a rack of agents reporting every second costs a page a few
// refetches a second, not one per report. Events are read from the store, so events written
// by another server sharing it arrive too.
//
// Streams are imaging::http::StreamSource: a quiet stream holds no thread. Each has a bounded
// queue; a stream whose client does not keep up is ended (the browser's EventSource
// reconnects and the page refetches everything), never allowed to grow.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "imaging/http/stream.h"
#include "provisioner/store.h"

namespace provisioner::server {

struct UiFeedLimits {
    std::size_t max_streams = 64;           // more: subscribe() refuses (the route says 503)
    std::size_t max_queued_messages = 256;  // per stream; more ends that stream
    std::chrono::milliseconds period{250};  // how often events are read and changes sent
    std::chrono::milliseconds keep_alive{15'000};
};

class UiFeed {
  public:
    UiFeed(Store& store, base::Clock& clock, UiFeedLimits limits = {});
    ~UiFeed();  // stop()
    UiFeed(const UiFeed&) = delete;
    UiFeed& operator=(const UiFeed&) = delete;

    // Starts the thread that calls poll() every period. Without it (unit tests) call poll().
    void start();
    // Stops that thread and ends every stream. Idempotent.
    void stop();

    // A new stream; nullptr when max_streams are open or the feed is stopped.
    std::shared_ptr<imaging::http::StreamSource> subscribe();
    // A state-changing request on this route pattern ("/api/v1/hosts/{host}") succeeded.
    void changed(std::string_view route_pattern);
    // Sends what is due: the store's new events, the changed topics, a keep-alive.
    void poll();

    std::size_t streams() const;
    // The topics a route pattern touches; empty for one that changes nothing a page shows.
    static std::vector<std::string> topics_of(std::string_view route_pattern);

    class Stream;

  private:
    void broadcast(const std::string& message);

    Store& store_;
    base::Clock& clock_;
    const UiFeedLimits limits_;
    mutable std::mutex mu_;
    std::condition_variable wake_;
    std::vector<std::shared_ptr<Stream>> streams_;
    std::set<std::string> changed_;
    EventId last_event_ = 0;
    bool last_event_known_ = false;  // false: the next poll starts from the newest event
    base::Clock::time_point last_sent_{};
    bool stopped_ = false;
    std::thread thread_;
};

}  // namespace provisioner::server
