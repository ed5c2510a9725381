// The CLI's metrics commands: host metrics / vm metrics (graphs on a terminal, numbers
// elsewhere) and top (hosts and their VMs by CPU and memory), against a fake server.
#include <doctest/doctest.h>

#include <cmath>

#include "metrics_view.h"
#include "test_cli_fake.h"
#include "top_view.h"

using namespace clitest;
using namespace provisioner::cli;
using nlohmann::json;

namespace {

json history_answer() {
    return {{"host", "h1"},
            {"since", 1800000000},
            {"until", 1800000060},
            {"step", 15},
            {"archive", {{"step", 15}, {"retention", 86400}}},
            {"times", {1800000000, 1800000015, 1800000030, 1800000045}},
            {"series",
             {{{"name", "node_load1"},
               {"labels", json::object()},
               {"kind", "gauge"},
               {"values", {0.5, nullptr, 1.5, 1.0}}},
              {{"name", "node_network_receive_bytes_total"},
               {"labels", {{"device", "eth0"}}},
               {"kind", "rate"},
               {"values", {nullptr, 2048, 4096, 1024}}}}}};
}

json latest_answer() {
    auto series = [](const char* name, json labels, const char* kind, json value) {
        return json{{"name", name}, {"labels", labels}, {"kind", kind}, {"value", value}};
    };
    json h1 = {{"host", "h1"},
               {"time", 1800000000},
               {"series",
                {series("node_cpu_seconds_total", {{"mode", "user"}}, "rate", 1.0),
                 series("node_cpu_seconds_total", {{"mode", "idle"}}, "rate", 2.5),
                 series("node_cpu_seconds_total", {{"mode", "iowait"}}, "rate", 0.5),
                 series("node_memory_MemTotal_bytes", json::object(), "gauge", 8589934592.0),
                 series("node_memory_MemAvailable_bytes", json::object(), "gauge", 6442450944.0),
                 series("node_load1", json::object(), "gauge", 0.75),
                 series("node_network_receive_bytes_total", {{"device", "lo"}}, "rate", 1e6),
                 series("node_network_receive_bytes_total", {{"device", "eth0"}}, "rate", 2048)}}};
    json h2 = {{"host", "h2"},
               {"time", 1800000000},
               {"series",
                {series("node_cpu_seconds_total", {{"mode", "user"}}, "rate", nullptr),
                 series("node_memory_MemTotal_bytes", json::object(), "gauge", 4294967296.0),
                 series("node_memory_MemAvailable_bytes", json::object(), "gauge", 1073741824.0)}}};
    json v1 = {
        {"vm", "v1"},
        {"time", 1800000000},
        {"series",
         {series("libvirt_domain_info_cpu_time_seconds_total", json::object(), "rate", 0.5),
          series("libvirt_domain_info_memory_usage_bytes", json::object(), "gauge", 268435456.0)}}};
    return {{"hosts", {h1, h2}}, {"vms", {v1}}};
}

json vms_answer() {
    return {
        {"vms",
         {{{"name", "v1"}, {"host", "h1"}, {"vcpus", 2}, {"memory_mib", 512}, {"state", "running"}},
          {{"name", "v2"}, {"host", "h1"}, {"vcpus", 1}, {"memory_mib", 128}, {"state", "running"}},
          {{"name", "v9"}, {"host", "gone"}, {"vcpus", 1}, {"memory_mib", 128}}}}};
}

}  // namespace

TEST_CASE("sparkline: block characters from min to max, blanks for gaps") {
    const double nan = std::nan("");
    CHECK(render_sparkline({0, 1, 2, 3, 4, 5, 6, 7}, 8) == "▁▂▃▄▅▆▇█");
    CHECK(render_sparkline({1, nan, 1}, 3) == "▁ ▁");
    CHECK(render_sparkline({0, 0, 7, 7}, 2) == "▁█");  // two values a column, averaged
    CHECK(render_sparkline({}, 5) == " ");
    CHECK(render_sparkline({1, 2}, 0).empty());
    CHECK(format_metric_value("node_memory_MemTotal_bytes", false, 1073741824) == "1.0 GiB");
    CHECK(format_metric_value("node_network_receive_bytes_total", true, 2048) == "2.0 KiB/s");
    CHECK(format_metric_value("node_load1", false, 0.123456) == "0.123");
    CHECK(format_metric_value("node_load1", false, nan) == "-");
}

TEST_CASE("host metrics: graphs on a terminal, SERIES TIME VALUE lines elsewhere") {
    FakeServer server;
    server.responses.push_back(json_response(200, history_answer()));
    auto plain = run_cli(server, {"host", "metrics", "h1", "--since", "2h", "--step", "15"});
    CHECK(plain.status == 0);
    CHECK(server.requests.at(0).url.ends_with("/api/v1/hosts/h1/metrics?since=2h&step=15"));
    CHECK(plain.out ==
          "node_load1 1800000000 0.5\n"
          "node_load1 1800000030 1.5\n"
          "node_load1 1800000045 1.0\n"
          "node_network_receive_bytes_total{device=\"eth0\"} 1800000015 2048\n"
          "node_network_receive_bytes_total{device=\"eth0\"} 1800000030 4096\n"
          "node_network_receive_bytes_total{device=\"eth0\"} 1800000045 1024\n");

    server.responses.push_back(json_response(200, history_answer()));
    auto tty = run_cli(server, {"host", "metrics", "h1", "--match", "load"}, true);
    CHECK(tty.status == 0);
    CHECK(server.requests.at(1).url.ends_with("/api/v1/hosts/h1/metrics?since=1h"));
    CHECK(tty.out.find("a point every 15 s (4 points)") != std::string::npos);
    CHECK(tty.out.find("node_load1  ▁ █▅") != std::string::npos);
    CHECK(tty.out.find("min 0.5  max 1.5  last 1") != std::string::npos);
    CHECK(tty.out.find("receive") == std::string::npos);  // --match

    server.responses.push_back(api_error(400, "invalid_argument", "since: 'x' is not a duration"));
    auto bad = run_cli(server, {"vm", "metrics", "v1", "--since", "x"});
    CHECK(bad.status == 1);
    CHECK(server.requests.at(2).url.ends_with("/api/v1/vms/v1/metrics?since=x"));
    CHECK(bad.err.find("not a duration") != std::string::npos);

    auto help = run_cli(server, {"host", "metrics", "--help"});
    CHECK(help.status == 0);
    CHECK(help.out.find("--since") != std::string::npos);
}

TEST_CASE("top: hosts by CPU with their VMs, once when not a terminal, JSON with --json") {
    auto rows = top_rows(latest_answer(), vms_answer(), TopSort::cpu);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].name == "h1");
    CHECK(rows[0].cpu_percent == doctest::Approx(25));  // user 1 of 4 CPU seconds a second
    CHECK(rows[0].cpus == doctest::Approx(4));
    CHECK(rows[0].memory_used_bytes == doctest::Approx(2147483648.0));
    CHECK(rows[0].receive_bytes_per_second == doctest::Approx(2048));  // lo left out
    REQUIRE(rows[0].vms.size() == 2);
    CHECK(rows[0].vms[0].name == "v1");
    CHECK(rows[0].vms[0].cpu_percent == doctest::Approx(25));  // 0.5 of 2 vCPUs
    CHECK(rows[0].vms[0].memory_bytes == doctest::Approx(268435456.0));
    CHECK(std::isnan(rows[0].vms[1].cpu_percent));  // no metrics: its given memory
    CHECK(rows[0].vms[1].memory_bytes == doctest::Approx(134217728.0));
    CHECK(std::isnan(rows[1].cpu_percent));
    auto by_memory = top_rows(latest_answer(), vms_answer(), TopSort::memory);
    CHECK(by_memory[0].name == "h2");  // 3 GiB used against 2 GiB

    FakeServer server;
    server.responses.push_back(json_response(200, latest_answer()));
    server.responses.push_back(json_response(200, vms_answer()));
    auto once = run_cli(server, {"top"});
    CHECK(once.status == 0);
    CHECK(once.sleeps == 0);
    CHECK(server.requests.at(0).url.ends_with("/api/v1/metrics/latest"));
    CHECK(once.out.starts_with("HOST/VM"));
    const std::string h1_line = once.out.substr(once.out.find("\nh1 "), 80);
    CHECK(h1_line.find("25.0%") != std::string::npos);
    CHECK(h1_line.find("2.0 GiB") != std::string::npos);
    CHECK(h1_line.find("8.0 GiB") != std::string::npos);
    CHECK(once.out.find("\n  v1") != std::string::npos);

    server.responses.push_back(json_response(200, latest_answer()));
    server.responses.push_back(json_response(200, vms_answer()));
    auto js = run_cli(server, {"top", "--json"}, true);
    CHECK(js.status == 0);
    auto doc = json::parse(js.out);
    CHECK(doc["hosts"][0]["name"] == "h1");
    CHECK(doc["hosts"][0]["vms"][0]["cpu_percent"] == 25.0);
    CHECK(doc["hosts"][1]["cpu_percent"].is_null());

    // On a terminal: redrawn in place, three times, then it stops as -n asks.
    for (int i = 0; i < 3; ++i) {
        server.responses.push_back(json_response(200, latest_answer()));
        server.responses.push_back(json_response(200, vms_answer()));
    }
    auto live = run_cli(server, {"top", "-n", "3", "--interval", "1"}, true);
    CHECK(live.status == 0);
    CHECK(live.sleeps == 2);
    CHECK(live.out.find("provisioner top: 2 hosts, 2 VMs, by cpu") != std::string::npos);
    CHECK(live.out.find("\x1b[") != std::string::npos);  // the cursor moved up to redraw

    auto wrong = run_cli(server, {"top", "--sort", "disk"});
    CHECK(wrong.status == 2);
}
