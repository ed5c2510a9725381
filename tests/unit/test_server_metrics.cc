// provisionerd's own metrics: the lock-free counter and histogram, the server's series (every
// route at 0 from the start, requests by route and status class, latency buckets, the pool,
// dnsmasq, boot scripts, the tick's age), the inventory's series, dnsmasq's lease count and
// /proc/self/stat.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "dhcp_service.h"
#include "metric_types.h"
#include "metrics_inventory.h"
#include "process_metrics.h"
#include "server_metrics.h"
#include "test_util.h"

using namespace provisioner;
using namespace provisioner::server;
using imaging::http::bhttp::verb;
using namespace std::chrono_literals;

namespace {

using testutil::has_line;

std::size_t count_lines_starting(const std::string& text, const std::string& prefix) {
    std::size_t n = 0, at = 0;
    while ((at = text.find("\n" + prefix, at)) != std::string::npos) {
        ++n;
        ++at;
    }
    return n + (text.starts_with(prefix) ? 1 : 0);
}

const std::string kHostRoute = "/api/v1/hosts/{host}";
const std::string kHostsRoute = "/api/v1/hosts";

std::vector<ServerMetrics::Route> routes() {
    return {{verb::get, kHostsRoute}, {verb::post, kHostsRoute}, {verb::get, kHostRoute}};
}

imaging::http::RequestRecord record(verb method, const std::string* route, unsigned status,
                                    std::chrono::nanoseconds took) {
    return {method, route, status, took};
}

}  // namespace

TEST_CASE("histogram: a value falls in the first bucket whose bound is at least it") {
    const double bounds[] = {0.01, 0.1, 1};
    Histogram h(bounds);
    h.observe(0.005);
    h.observe(0.01);  // on the bound: that bucket
    h.observe(0.05);
    h.observe(2);  // past every bound: +Inf only
    const HistogramSnapshot s = h.snapshot();
    CHECK(s.bounds == std::vector<double>{0.01, 0.1, 1});
    CHECK(s.cumulative == std::vector<std::uint64_t>{2, 3, 3, 4});
    CHECK(s.count == 4);
    CHECK(s.sum == doctest::Approx(2.065));
    CHECK_THROWS(Histogram(std::vector<double>{1, 0.5}));
}

TEST_CASE("counter and histogram: increments from many threads are all counted") {
    Counter c;
    Histogram h(latency_buckets());
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 10000; ++i) {
                c.add();
                h.observe(0.002);
            }
        });
    for (auto& t : threads) t.join();
    CHECK(c.value() == 40000);
    const auto s = h.snapshot();
    CHECK(s.count == 40000);
    CHECK(s.cumulative.front() == 0);  // 0.001
    CHECK(s.cumulative[1] == 40000);   // 0.0025
    CHECK(s.sum == doctest::Approx(80));
}

TEST_CASE("server metrics: every route's series exist at 0 from the start") {
    const auto start = std::chrono::steady_clock::now();
    const auto r = routes();
    ServerMetrics m(r, start);
    std::string text;
    m.write(text, start + 3s);
    for (const char* status : {"2xx", "3xx", "4xx", "5xx"}) {
        CHECK(has_line(text, std::string("provisioner_http_requests_total{method=\"GET\",route=\"/"
                                         "api/v1/hosts/{host}\",status=\"") +
                                 status + "\"} 0"));
        CHECK(has_line(text, std::string("provisioner_http_requests_total{method=\"\",route="
                                         "\"unmatched\",status=\"") +
                                 status + "\"} 0"));
    }
    CHECK(has_line(text, "# TYPE provisioner_http_request_duration_seconds histogram"));
    CHECK(has_line(text, "provisioner_http_request_duration_seconds_bucket{method=\"POST\",route="
                         "\"/api/v1/hosts\",le=\"+Inf\"} 0"));
    CHECK(has_line(text, "provisioner_http_request_duration_seconds_count{method=\"POST\",route="
                         "\"/api/v1/hosts\"} 0"));
    // 3 routes + unmatched, 4 status classes each; 13 bounds + +Inf per histogram.
    CHECK(count_lines_starting(text, "provisioner_http_requests_total{") == 16);
    CHECK(count_lines_starting(text, "provisioner_http_request_duration_seconds_bucket{") ==
          4 * 14);
    CHECK(has_line(text, "provisioner_http_rejected_requests_total 0"));
    CHECK(has_line(text, "provisioner_orchestrator_tick_age_seconds 3"));
    for (const char* kind : {"netboot", "local_disk", "discovery", "discovered_wait"})
        CHECK(has_line(text, std::string("provisioner_boot_scripts_served_total{kind=\"") + kind +
                                 "\"} 0"));
    CHECK(text.find("provisioner_dnsmasq_up") == std::string::npos);  // no DHCP: no dnsmasq
    CHECK(has_line(text, "# TYPE process_cpu_seconds_total counter"));
    CHECK(text.find("process_resident_memory_bytes ") != std::string::npos);
}

TEST_CASE("server metrics: requests by route pattern, method and status class, with latency") {
    const auto start = std::chrono::steady_clock::now();
    const auto r = routes();
    ServerMetrics m(r, start);
    // The record names the router's own copy of the pattern: compared by text, not address.
    const std::string host_route = kHostRoute;
    m.observe(record(verb::get, &host_route, 200, 3ms));
    m.observe(record(verb::get, &host_route, 404, 40ms));
    m.observe(record(verb::get, &host_route, 503, 2s));
    m.observe(record(verb::delete_, &host_route, 405, 1ms));  // a method the route lacks
    m.observe(record(verb::get, nullptr, 404, 1ms));
    m.boot_script_served(BootScriptKind::netboot);
    m.boot_script_served(BootScriptKind::netboot);
    m.tick_done(start + 10s);
    std::string text;
    m.write(text, start + 10500ms);
    const std::string get_host = "method=\"GET\",route=\"/api/v1/hosts/{host}\"";
    CHECK(has_line(text, "provisioner_http_requests_total{" + get_host + ",status=\"2xx\"} 1"));
    CHECK(has_line(text, "provisioner_http_requests_total{" + get_host + ",status=\"4xx\"} 1"));
    CHECK(has_line(text, "provisioner_http_requests_total{" + get_host + ",status=\"5xx\"} 1"));
    CHECK(has_line(text, "provisioner_http_requests_total{method=\"\",route=\"unmatched\",status="
                         "\"4xx\"} 2"));
    CHECK(has_line(text, "provisioner_http_request_duration_seconds_bucket{" + get_host +
                             ",le=\"0.0025\"} 0"));
    CHECK(has_line(text, "provisioner_http_request_duration_seconds_bucket{" + get_host +
                             ",le=\"0.005\"} 1"));
    CHECK(has_line(text, "provisioner_http_request_duration_seconds_bucket{" + get_host +
                             ",le=\"0.05\"} 2"));
    CHECK(has_line(text, "provisioner_http_request_duration_seconds_bucket{" + get_host +
                             ",le=\"2.5\"} 3"));
    CHECK(has_line(text, "provisioner_http_request_duration_seconds_sum{" + get_host + "} 2.043"));
    CHECK(has_line(text, "provisioner_http_request_duration_seconds_count{" + get_host + "} 3"));
    CHECK(has_line(text, "provisioner_boot_scripts_served_total{kind=\"netboot\"} 2"));
    CHECK(has_line(text, "provisioner_orchestrator_tick_age_seconds 0.5"));
    CHECK(ServerMetrics::status_class(201) == std::string("2xx"));
    CHECK(ServerMetrics::status_class(302) == std::string("3xx"));
    CHECK(ServerMetrics::status_class(599) == std::string("5xx"));
}

TEST_CASE("server metrics: the HTTP pool and dnsmasq as their sources say at the scrape") {
    const auto start = std::chrono::steady_clock::now();
    ServerMetrics m(routes(), start);
    m.set_http_source([] { return HttpPoolState{2, 5, 256, 7, 40}; });
    bool up = true;
    m.set_dnsmasq_source([&] { return DnsmasqState{up, 3, std::size_t(12)}; });
    std::string text;
    m.write(text, start);
    CHECK(has_line(text, "provisioner_http_workers 2"));
    CHECK(has_line(text, "provisioner_http_queued_requests 5"));
    CHECK(has_line(text, "provisioner_http_queue_capacity 256"));
    CHECK(has_line(text, "provisioner_http_rejected_requests_total 7"));
    CHECK(has_line(text, "provisioner_http_open_connections 40"));
    CHECK(has_line(text, "provisioner_dnsmasq_up 1"));
    CHECK(has_line(text, "provisioner_dnsmasq_restarts_total 3"));
    CHECK(has_line(text, "provisioner_dhcp_leases 12"));
    up = false;
    text.clear();
    m.write(text, start);
    CHECK(has_line(text, "provisioner_dnsmasq_up 0"));
}

TEST_CASE("inventory metrics: every known label set, at 0 when nothing has it") {
    std::string text;
    write_inventory_metrics(text, InventorySnapshot{});
    CHECK(text.find("provisioner_rack_hosts{") == std::string::npos);  // no rack yet
    CHECK(has_line(text, "provisioner_images 0"));
    CHECK(has_line(text, "provisioner_templates{temperature=\"hot\"} 0"));
    CHECK(has_line(text, "provisioner_templates{temperature=\"cold\"} 0"));
    for (const std::string& state : vm_state_names())
        CHECK(has_line(text, "provisioner_vms{state=\"" + state + "\"} 0"));
    for (const char* state :
         {"vm_unavailable", "vm_ready", "container_ready", "service_available", "failed"})
        CHECK(has_line(text, std::string("provisioner_services{state=\"") + state + "\"} 0"));
    for (const char* state : {"running", "succeeded", "failed", "interrupted"})
        CHECK(has_line(text, std::string("provisioner_deployments{state=\"") + state + "\"} 0"));
    for (const char* t : {"delta", "multicast", "torrent"})
        CHECK(has_line(text, std::string("provisioner_delivered_bytes_total{transport=\"") + t +
                                 "\"} 0"));
    CHECK(text.find("provisioner_deployment_host_") == std::string::npos);
}

TEST_CASE("inventory metrics: hosts by rack, VMs by state, deployments and their progress") {
    InventorySnapshot s;
    auto host = [](HostId id, const char* name, const char* rack, HostState state) {
        Host h;
        h.id = id;
        h.name = name;
        h.rack = rack;
        h.state = state;
        return h;
    };
    s.hosts = {host(1, "a", "r1", HostState::ready), host(2, "b", "r1", HostState::ready),
               host(3, "c", "r2", HostState::imaging)};
    s.images = 2;
    s.templates_hot = 1;
    s.templates_cold = 3;
    HostReport report;
    report.host = 1;
    auto vm = [](const char* name, const char* state) {
        ReportedVm v;
        v.name = name;
        v.state = state;
        return v;
    };
    report.vms = {vm("v1", "running"), vm("v2", "shut off"), vm("v3", "something new")};
    s.reports = {report};
    s.services = {{ServiceState::service_available, 4}, {ServiceState::failed, 1}};
    Deployment done{7, 1, Transport::multicast, DeploymentState::succeeded, 0, 1};
    Deployment running{8, 1, Transport::delta, DeploymentState::running, 0, std::nullopt};
    s.deployments = {running, done};
    DeploymentTarget t1;
    t1.deployment = 7;
    t1.host = 1;
    t1.transport = Transport::multicast;
    t1.bytes_done = t1.bytes_total = 1000;
    DeploymentTarget t2;
    t2.deployment = 8;
    t2.host = 3;
    t2.transport = Transport::delta;
    t2.bytes_done = 250;
    t2.bytes_total = 1000;
    s.targets = {{7, {t1}}, {8, {t2}}};
    std::string text;
    write_inventory_metrics(text, s);
    CHECK(has_line(text, "provisioner_rack_hosts{rack=\"r1\",state=\"ready\"} 2"));
    CHECK(has_line(text, "provisioner_rack_hosts{rack=\"r1\",state=\"imaging\"} 0"));
    CHECK(has_line(text, "provisioner_rack_hosts{rack=\"r2\",state=\"imaging\"} 1"));
    CHECK(count_lines_starting(text, "provisioner_rack_hosts{") == 2 * 9);
    CHECK(has_line(text, "provisioner_images 2"));
    CHECK(has_line(text, "provisioner_templates{temperature=\"hot\"} 1"));
    CHECK(has_line(text, "provisioner_templates{temperature=\"cold\"} 3"));
    CHECK(has_line(text, "provisioner_vms{state=\"running\"} 1"));
    CHECK(has_line(text, "provisioner_vms{state=\"shut off\"} 1"));
    CHECK(has_line(text, "provisioner_vms{state=\"no state\"} 1"));
    CHECK(has_line(text, "provisioner_services{state=\"service_available\"} 4"));
    CHECK(has_line(text, "provisioner_services{state=\"failed\"} 1"));
    CHECK(has_line(text, "provisioner_services{state=\"vm_ready\"} 0"));
    CHECK(has_line(text, "provisioner_deployments{state=\"running\"} 1"));
    CHECK(has_line(text, "provisioner_deployments{state=\"succeeded\"} 1"));
    CHECK(has_line(text, "provisioner_delivered_bytes_total{transport=\"multicast\"} 1000"));
    CHECK(has_line(text, "provisioner_delivered_bytes_total{transport=\"delta\"} 250"));
    // Progress of the running deployment's hosts only.
    CHECK(has_line(text, "provisioner_deployment_host_written_bytes{deployment=\"8\",host=\"c\","
                         "transport=\"delta\"} 250"));
    CHECK(has_line(text, "provisioner_deployment_host_image_bytes{deployment=\"8\",host=\"c\","
                         "transport=\"delta\"} 1000"));
    CHECK(text.find("deployment=\"7\"") == std::string::npos);
}

TEST_CASE("dnsmasq leases: unexpired and infinite ones count, expired and odd lines do not") {
    const std::string leases =
        "1700000100 52:54:00:00:00:01 10.0.0.2 h1 01:52:54:00:00:00:01\n"
        "1699999000 52:54:00:00:00:02 10.0.0.3 h2 *\n"  // expired
        "0 52:54:00:00:00:03 10.0.0.4 h3 *\n"           // infinite
        "duid 00:01:00:01:2c:2f:aa:bb\n"                // DHCPv6's server id line
        "\n"
        "1700000200 52:54:00:00:00:04 10.0.0.5 * *";  // no final newline
    CHECK(DhcpService::count_active_leases(leases, 1700000000) == 3);
    CHECK(DhcpService::count_active_leases(leases, 1800000000) == 1);
    CHECK(DhcpService::count_active_leases("", 0) == 0);
}

TEST_CASE("process metrics: /proc/PID/stat's times, threads, start and memory") {
    // A command name with a space and a parenthesis, as proc(5) allows.
    const std::string stat =
        "4242 (provisioner d)) S 1 4242 4242 0 -1 4194560 5000 0 0 0 250 50 0 0 20 0 9 0 "
        "1000 104857600 2560 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n";
    auto s = parse_proc_stat(stat, 100, 4096, 1700000000);
    REQUIRE(s);
    CHECK(s->cpu_seconds == doctest::Approx(3.0));
    CHECK(s->threads == 9);
    CHECK(s->start_time_seconds == doctest::Approx(1700000010.0));
    CHECK(s->virtual_bytes == 104857600);
    CHECK(s->resident_bytes == 2560ull * 4096);
    CHECK(!parse_proc_stat("4242 (x) S 1 2", 100, 4096, 0));
    CHECK(!parse_proc_stat("no parenthesis", 100, 4096, 0));
}
