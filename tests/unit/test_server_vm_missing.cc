// Dom0 reports through the real Router, for what they say beyond the VM list: a VM gone from
// its host's report with no action for it is flagged missing (an event, GET /api/v1/vms), kept
// across a restart and dropped by a recall; each VM's libvirt metrics reach GET /metrics.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "test_server_fixture.h"

using namespace servertest;

namespace {

// Enrolled hosts h1 and h2 whose Dom0 agents report through the API.
struct Dom0Server : Server {
    Dom0Server() {
        for (auto [mac, name, ip] : {std::tuple{"52:54:00:00:01:01", "h1", "10.77.1.11"},
                                     std::tuple{"52:54:00:00:01:02", "h2", "10.77.1.12"}}) {
            call_json(bhttp::verb::post, "/api/v1/hosts",
                      json{{"mac", mac}, {"name", name}, {"ip", ip}, {"rack", "r7"}}.dump());
            REQUIRE(last_status == 201);
            tokens[name] = auth->dom0_token(*store->find_host_by_name(name)).value();
        }
    }
    json report(const std::string& host, const json& vms) {
        json body = {{"capacity", {{"vcpus", 8}, {"memory_mib", 16384}}}, {"vms", vms}};
        auto out = call_json(bhttp::verb::post, "/api/v1/agent/vms", body.dump(), tokens[host]);
        CHECK(last_status == 200);
        return out;
    }
    json vms() { return call_json(bhttp::verb::get, "/api/v1/vms")["vms"]; }
    std::vector<std::string> missing_events() {
        std::vector<std::string> out;
        for (const Event& e : store->list_events(EventFilter{}).value())
            if (e.reason.find("flagged missing") != std::string::npos) out.push_back(e.reason);
        return out;
    }
    std::map<std::string, std::string> tokens;
};

json vm_report(const std::string& name, const std::string& state = "running") {
    return {{"name", name}, {"vcpus", 1}, {"memory_mib", 512}, {"template", "debian@3"},
            {"state", state}};
}

const json* find(const json& vms, const std::string& name) {
    for (const json& v : vms)
        if (v["name"] == name) return &v;
    return nullptr;
}

}  // namespace

TEST_CASE("server vms: a VM gone from its host's report with no action is flagged missing") {
    Dom0Server s;
    s.report("h1", json::array({vm_report("web1"), vm_report("db1", "paused")}));
    json listed = s.vms();
    REQUIRE(listed.size() == 2);
    CHECK_FALSE(listed[0].contains("missing"));
    CHECK(s.missing_events().empty());

    s.report("h1", json::array({vm_report("web1")}));  // db1 vanished: nobody asked for it
    listed = s.vms();
    REQUIRE(listed.size() == 2);
    const json* db1 = find(listed, "db1");
    REQUIRE(db1);
    CHECK((*db1)["missing"] == true);
    CHECK((*db1)["state"] == "missing");
    CHECK((*db1)["last_state"] == "paused");
    CHECK((*db1)["host"] == "h1");
    CHECK((*db1)["missing_since"].is_number_integer());
    REQUIRE(s.missing_events().size() == 1);
    CHECK(s.missing_events()[0] ==
          "VM db1 is gone from the report of h1's Dom0 agent with no action for it: flagged missing");
    s.report("h1", json::array({vm_report("web1")}));  // still gone: still flagged, no second event
    CHECK(find(s.vms(), "db1"));
    CHECK(s.missing_events().size() == 1);

    // Kept with the report: a registry read back from the store still has the flag.
    VmRegistry again(*s.store);
    REQUIRE(again.load());
    bool kept = false;
    for (const HostReport& r : again.reports())
        for (const MissingVm& m : r.missing) kept = kept || (m.name == "db1" && m.last_state == "paused");
    CHECK(kept);

    // A VM removed by an action under way is not missing.
    auto recalled = s.call_json(bhttp::verb::post, "/api/v1/vms/recall", R"({"selector":"web1"})");
    REQUIRE(s.last_status == 202);
    REQUIRE(recalled["actions"].size() == 1);
    CHECK(recalled["forgotten"].empty());
    s.report("h1", json::array());  // the agent removed it; its answer is not in yet
    CHECK_FALSE(find(s.vms(), "web1"));
    CHECK(s.missing_events().size() == 1);

    // Back on another host: no longer missing, and dropped from h1's list at its next report.
    s.report("h2", json::array({vm_report("db1", "running")}));
    listed = s.vms();
    REQUIRE(listed.size() == 1);
    CHECK(listed[0]["host"] == "h2");
    CHECK_FALSE(listed[0].contains("missing"));
    s.report("h1", json::array());
    for (const HostReport& r : s.vms_ptr->reports()) CHECK(r.missing.empty());

    // Gone for good: recalling it drops the flag, with nothing to remove.
    s.report("h2", json::array());
    REQUIRE(find(s.vms(), "db1"));
    recalled = s.call_json(bhttp::verb::post, "/api/v1/vms/recall", R"({"selector":"db*"})");
    REQUIRE(s.last_status == 202);
    CHECK(recalled["actions"].empty());
    CHECK(recalled["forgotten"] == json::array({"db1"}));
    CHECK(s.vms().empty());
}

TEST_CASE("server vms: each VM's libvirt metrics from the Dom0 report reach GET /metrics") {
    Dom0Server s;
    json web1 = vm_report("web1");
    web1["metrics"] = {{"uuid", "0f0e0d0c-0b0a-0908-0706-050403020100"},
                       {"state_code", 1},
                       {"cpu_time_seconds", 12.5},
                       {"memory_maximum_bytes", 1073741824},
                       {"memory_used_bytes", 536870912},
                       {"vcpus_online", 1},
                       {"vcpus_maximum", 2},
                       {"disks", json::array({{{"device", "vda"}, {"source", "/d/web1.qcow2"},
                                               {"read_bytes", 4096}}})}};
    s.report("h1", json::array({web1, vm_report("plain")}));
    auto res = s.call(bhttp::verb::get, "/metrics?vm_devices=1");  // the disk's series are opt-in
    REQUIRE(res.result_int() == 200);
    const std::string text = res.body();
    const std::string labels =
        "host=\"h1\",rack=\"r7\",domain=\"web1\",uuid=\"0f0e0d0c-0b0a-0908-0706-050403020100\"";
    CHECK(s.call(bhttp::verb::get, "/metrics").body().find("libvirt_domain_block_stats") ==
          std::string::npos);
    CHECK(s.call(bhttp::verb::get, "/metrics?vm_devices=yes").result_int() == 400);
    CHECK(text.find("\nlibvirt_domain_info_cpu_time_seconds_total{" + labels + "} 12.5\n") !=
          std::string::npos);
    CHECK(text.find("\nlibvirt_domain_info_memory_usage_bytes{" + labels + "} 536870912\n") !=
          std::string::npos);
    CHECK(text.find("\nlibvirt_domain_block_stats_read_bytes_total{" + labels +
                    ",target_device=\"vda\",source_file=\"/d/web1.qcow2\"} 4096\n") !=
          std::string::npos);
    CHECK(text.find("\nlibvirt_domain_info_vstate{host=\"h1\",rack=\"r7\",domain=\"plain\"} 1\n") !=
          std::string::npos);
    CHECK(text.find("domain=\"plain\"} 1\nlibvirt_domain_info_cpu") == std::string::npos);
    // The next report without web1's metrics: the latest entry has none for it.
    s.report("h1", json::array({vm_report("web1")}));
    CHECK(s.call(bhttp::verb::get, "/metrics").body().find("cpu_time_seconds_total{") ==
          std::string::npos);
}

TEST_CASE("server vms: a resize waiting for the VM's next start is listed as restart_pending") {
    Dom0Server s;
    json web1 = vm_report("web1");
    web1["vcpus"] = 4;  // the new value, in the saved configuration only
    web1["restart_pending"] = true;
    s.report("h1", json::array({web1, vm_report("db1")}));
    json listed = s.vms();
    REQUIRE(find(listed, "web1"));
    CHECK((*find(listed, "web1"))["restart_pending"] == true);
    CHECK((*find(listed, "web1"))["vcpus"] == 4);
    CHECK_FALSE(find(listed, "db1")->contains("restart_pending"));

    // Kept with the report: a registry read back from the store still has it.
    VmRegistry again(*s.store);
    REQUIRE(again.load());
    bool kept = false;
    for (const HostReport& r : again.reports())
        for (const ReportedVm& v : r.vms) kept = kept || (v.name == "web1" && v.restart_pending);
    CHECK(kept);

    // Restarted: the same VM without the flag is a change, not the report it held.
    s.report("h1", json::array({vm_report("web1"), vm_report("db1")}));
    CHECK_FALSE(find(s.vms(), "web1")->contains("restart_pending"));
}
