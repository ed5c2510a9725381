#include "ui_feed.h"

#include <deque>
#include <functional>

#include <nlohmann/json.hpp>

#include "json_views.h"

namespace provisioner::server {

using Deliver = imaging::http::StreamSource::Deliver;

// One browser's stream: messages wait here until its session asks for the next one.
class UiFeed::Stream final : public imaging::http::StreamSource {
  public:
    explicit Stream(std::size_t max_queued) : max_queued_(max_queued) {}

    void next(Deliver deliver) override {
        std::unique_lock lock(mu_);
        if (queue_.empty() && !ended_) {
            pending_ = std::move(deliver);
            return;
        }
        std::optional<std::string> piece;
        if (!queue_.empty()) {
            piece = std::move(queue_.front());
            queue_.pop_front();
        }
        lock.unlock();
        deliver(std::move(piece));  // nullopt once ended and drained
    }
    void cancel() override {
        std::lock_guard lock(mu_);
        cancelled_ = true;
        pending_ = nullptr;
        queue_.clear();
    }
    // Queues message (or hands it over at once); false when the stream is over.
    bool push(std::string message) {
        std::unique_lock lock(mu_);
        if (cancelled_ || ended_) return false;
        if (pending_) {
            auto deliver = std::move(pending_);
            pending_ = nullptr;
            lock.unlock();
            deliver(std::move(message));
            return true;
        }
        if (queue_.size() >= max_queued_) {
            queue_.clear();  // too slow a reader: end it; the client reconnects afresh
            ended_ = true;
            return false;
        }
        queue_.push_back(std::move(message));
        return true;
    }
    // The end: delivered once what is queued has been written.
    void end() {
        std::unique_lock lock(mu_);
        ended_ = true;
        if (!pending_) return;
        auto deliver = std::move(pending_);
        pending_ = nullptr;
        lock.unlock();
        deliver(std::nullopt);
    }
    bool over() {
        std::lock_guard lock(mu_);
        return cancelled_ || ended_;
    }

  private:
    const std::size_t max_queued_;
    std::mutex mu_;
    std::deque<std::string> queue_;
    Deliver pending_;
    bool cancelled_ = false;
    bool ended_ = false;
};

UiFeed::UiFeed(Store& store, base::Clock& clock, UiFeedLimits limits)
    : store_(store), clock_(clock), limits_(limits), last_sent_(clock.now()) {}

UiFeed::~UiFeed() {
    stop();
}

void UiFeed::start() {
    std::lock_guard lock(mu_);
    if (thread_.joinable() || stopped_) return;
    thread_ = std::thread([this] {
        std::unique_lock lock(mu_);
        while (!stopped_) {
            lock.unlock();
            poll();
            lock.lock();
            wake_.wait_for(lock, limits_.period, [this] { return stopped_; });
        }
    });
}

void UiFeed::stop() {
    std::vector<std::shared_ptr<Stream>> streams;
    {
        std::lock_guard lock(mu_);
        stopped_ = true;
        streams.swap(streams_);
    }
    wake_.notify_all();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
    for (auto& s : streams) s->end();
}

std::shared_ptr<imaging::http::StreamSource> UiFeed::subscribe() {
    std::lock_guard lock(mu_);
    std::erase_if(streams_, [](const auto& s) { return s->over(); });
    if (stopped_ || streams_.size() >= limits_.max_streams) return nullptr;
    auto stream = std::make_shared<Stream>(limits_.max_queued_messages);
    // The first bytes: how long the browser waits before reconnecting, and a hello that
    // tells the page the stream is up (it refetches what it shows).
    stream->push("retry: 2000\nevent: hello\ndata: {}\n\n");
    streams_.push_back(stream);
    return stream;
}

std::size_t UiFeed::streams() const {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (const auto& s : streams_) n += !s->over();
    return n;
}

std::vector<std::string> UiFeed::topics_of(std::string_view p) {
    auto under = [&](std::string_view prefix) { return p.starts_with(prefix); };
    if (under("/api/v1/agent/hello") || under("/api/v1/agent/progress") ||
        under("/api/v1/agent/result") || under("/api/v1/agent/ready") ||
        under("/api/v1/deployments"))
        return {"deployments", "hosts"};
    if (under("/api/v1/agent/") || under("/api/v1/site/") || under("/api/v1/vms") ||
        under("/api/v1/guest/"))
        return {"site", "vms"};
    if (under("/api/v1/hosts")) return {"hosts"};
    if (under("/api/v1/images")) return {"images"};
    if (under("/api/v1/templates")) return {"templates"};
    if (under("/api/v1/tokens")) return {"tokens"};
    return {};
}

void UiFeed::changed(std::string_view route_pattern) {
    auto topics = topics_of(route_pattern);
    if (topics.empty()) return;
    std::lock_guard lock(mu_);
    if (streams_.empty()) return;
    changed_.insert(topics.begin(), topics.end());
}

void UiFeed::broadcast(const std::string& message) {
    std::vector<std::shared_ptr<Stream>> streams;
    {
        std::lock_guard lock(mu_);
        std::erase_if(streams_, [](const auto& s) { return s->over(); });
        streams = streams_;
        last_sent_ = clock_.now();
    }
    for (auto& s : streams) s->push(message);
}

void UiFeed::poll() {
    std::set<std::string> changed;
    EventFilter filter;
    bool known = false;
    {
        std::lock_guard lock(mu_);
        std::erase_if(streams_, [](const auto& s) { return s->over(); });
        if (streams_.empty()) {
            // Nobody listens: nothing is read; a later stream starts from then.
            last_event_known_ = false;
            changed_.clear();
            return;
        }
        changed.swap(changed_);
        filter.after = last_event_;
        known = last_event_known_;
    }
    // Outside the lock: a store read may wait for a writer.
    constexpr std::size_t kMaxEventsAPoll = 200;
    filter.limit = known ? kMaxEventsAPoll : 1;
    if (!known) filter.after = 0;
    auto events = store_.list_events(filter);
    if (events) {
        if (!events->empty()) {
            std::lock_guard lock(mu_);
            last_event_ = std::max(last_event_, events->back().id);
            last_event_known_ = true;
        } else if (!known) {
            std::lock_guard lock(mu_);
            last_event_known_ = true;  // an empty log: every event from now on is new
        }
        if (known)
            for (const Event& e : *events)
                broadcast("id: " + std::to_string(e.id) + "\nevent: event\ndata: " +
                          event_json(e).dump(-1, ' ', false,
                                             nlohmann::json::error_handler_t::replace) +
                          "\n\n");
    }
    if (!changed.empty()) {
        nlohmann::json topics(std::vector<std::string>(changed.begin(), changed.end()));
        broadcast("event: change\ndata: " + nlohmann::json{{"topics", topics}}.dump() + "\n\n");
    }
    bool quiet;
    {
        std::lock_guard lock(mu_);
        quiet = clock_.now() - last_sent_ >= limits_.keep_alive;
    }
    if (quiet) broadcast(": keep-alive\n\n");
}

}  // namespace provisioner::server
