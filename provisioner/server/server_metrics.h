// provisionerd's own metrics (GET /metrics, API.md "Monitoring"): every HTTP request by route,
// method and status class with its latency, the worker pool's queue and refusals, dnsmasq,
// boot scripts served, the orchestrator tick's age and the process's CPU and memory. The
// inventory's series are metrics_inventory.h's; the hosts' and VMs' metrics_text.h's.
//
// Counting is lock-free: observe() and boot_script_served() touch only atomics, on slots made
// at construction (one per route the router has, one for requests no route took), so the
// request path never waits for a scrape or for another request. The sources read at scrape
// time (the HTTP server, dnsmasq) are set once the server runs and are guarded by a mutex that
// only scrapes and those setters take.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "imaging/http/router.h"
#include "metric_types.h"

namespace provisioner::server {

// What an iPXE script sent to firmware told it to do (api_boot.cc).
enum class BootScriptKind { netboot, local_disk, discovery, discovered_wait };
constexpr std::size_t kBootScriptKinds = 4;
const char* to_string(BootScriptKind kind);

// The HTTP server's state at a scrape (imaging::http::Server's counters).
struct HttpPoolState {
    std::size_t workers = 0;
    std::size_t queued = 0;
    std::size_t max_queued = 0;
    std::uint64_t rejected = 0;
    std::size_t connections = 0;
};

// dnsmasq's state at a scrape (DhcpService).
struct DnsmasqState {
    bool up = false;
    std::uint64_t restarts = 0;
    std::optional<std::size_t> leases;  // unexpired leases in its lease file; none unreadable
};

class ServerMetrics {
  public:
    using Route = std::pair<imaging::http::bhttp::verb, std::string>;
    // routes: every method and pattern the server routes (Router::routes()); each has its
    // series at 0 from the start. started: when the server started (the tick's age counts from
    // it until the first tick).
    ServerMetrics(std::span<const Route> routes, std::chrono::steady_clock::time_point started);

    // One answered request (a RequestObserver): lock-free. A route not given at construction
    // counts as unmatched.
    void observe(const imaging::http::RequestRecord& record);
    void boot_script_served(BootScriptKind kind) {
        boot_scripts_[std::size_t(kind)].add();
    }
    // The orchestrator's tick ended at `at` (provisionerd's process thread).
    void tick_done(std::chrono::steady_clock::time_point at) {
        last_tick_ns_.store(at.time_since_epoch().count(), std::memory_order_relaxed);
    }

    // Read at each scrape; unset: the HTTP series show 0, the dnsmasq series are left out (no
    // DHCP). Any thread.
    void set_http_source(std::function<HttpPoolState()> source);
    void set_dnsmasq_source(std::function<DnsmasqState()> source);

    // Appends this server's series (Prometheus' text) as of now.
    void write(std::string& out, std::chrono::steady_clock::time_point now) const;

    // The label a request's status is counted under: "2xx" ... "5xx".
    static const char* status_class(unsigned status);

  private:
    static constexpr std::size_t kClasses = 4;  // 2xx, 3xx, 4xx, 5xx
    static std::size_t class_index(unsigned status);
    struct Slot {
        explicit Slot(std::string method_label, std::string route_label)
            : method(std::move(method_label)), route(std::move(route_label)),
              latency(latency_buckets()) {}
        const std::string method, route;
        std::array<Counter, kClasses> requests;
        Histogram latency;
    };
    Slot& slot_of(const imaging::http::RequestRecord& record);

    std::vector<std::unique_ptr<Slot>> slots_;  // the last: unmatched
    // By route (views of the slots' own strings), then method. Const after construction, so
    // lookups need no lock and make no allocation.
    std::unordered_map<std::string_view, std::vector<std::pair<imaging::http::bhttp::verb, Slot*>>>
        by_route_;
    std::array<Counter, kBootScriptKinds> boot_scripts_;
    std::atomic<std::int64_t> last_tick_ns_;
    mutable std::mutex sources_mu_;  // the two below; never taken on the request path
    std::function<HttpPoolState()> http_source_;
    std::function<DnsmasqState()> dnsmasq_source_;
};

}  // namespace provisioner::server
