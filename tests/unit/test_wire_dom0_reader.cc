// wire::read_dom0_report, the Dom0 report read by SAX with no DOM: what it reads, the DOM
// decoder (parse<Dom0Report>) reads the same; what the DOM refuses, it gives up on, so the
// server's DOM path names the error as before.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "provisioner/wire/dom0.h"
#include "test_wire_samples.h"

namespace {

namespace wire = provisioner::wire;
using nlohmann::json;

wire::Dom0Report full_report() {
    wire::Dom0Report report;
    report.mac = "52:54:00:00:00:02";
    report.capacity = {16, 65536, 0.25, 2, 4096, "qemu+tcp://10.0.0.2/system", true};
    wire::VmMetrics m = wiretest::sample_vm_metrics();
    wire::ReportedVm web;
    web.name = "web1";
    web.vcpus = 2;
    web.memory_mib = 2048;
    web.template_ref = "debian@12";
    web.state = "running";
    web.domain_type = "kvm";
    web.metrics = m;
    wire::NetService limit;
    limit.kind = wire::NetService::Kind::rate_limit;
    limit.egress_bps = 10'000'000;
    wire::NetService compress;
    compress.kind = wire::NetService::Kind::compress;
    compress.peer = "10.0.0.3";
    compress.to = {"10.1.0.0/16", "10.2.0.0/16"};
    web.netservices = {limit, compress};
    wire::ReportedVm db;
    db.name = "db1";
    db.state = "shut off";
    db.restart_pending = true;
    report.vms = {web, db};
    wire::HostMetrics h;
    h.cpu_seconds = {{"user", 101321.53}, {"idle", 468284.83}, {"steal", 0}};
    h.memory_total_bytes = 16ull << 30;
    h.memory_available_bytes = 9ull << 30;
    h.load1 = 0.5;
    h.load15 = 2;
    h.boot_time_seconds = 1764806400;
    h.uptime_seconds = 3600.25;
    h.network = {{"eth0", 1000, 2000, 3, 4}, {"lo", 10, 10, 0, 0}};
    h.filesystem_size_bytes = 100ull << 30;
    h.filesystem_free_bytes = 60ull << 30;
    h.filesystem_avail_bytes = 55ull << 30;
    report.metrics = h;
    report.templates = {"debian@12", "web@3"};
    return report;
}

// Both readers on text: the SAX reader reads nothing the DOM refuses, and reads the same.
// Returns whether the SAX reader read it.
bool agree(const std::string& text) {
    auto fast = wire::read_dom0_report(text);
    auto dom = wire::parse<wire::Dom0Report>(text);
    if (fast) {
        REQUIRE_MESSAGE(dom, dom.status().message());
        CHECK(*fast == *dom);
    }
    return fast.has_value();
}

// Adds a field nobody knows, of every kind, to every object of j.
void add_unknown_dom0_fields(json& j) {
    if (j.is_object()) {
        for (auto& [key, value] : j.items()) add_unknown_dom0_fields(value);
        j["added_by_a_newer_side"] = {{"nested", {1, "two", nullptr, {{"x", true}}}}, {"n", -1.5}};
        j["also_new"] = "text";
    } else if (j.is_array()) {
        for (json& element : j) add_unknown_dom0_fields(element);
    }
}

}  // namespace

TEST_CASE("wire: the Dom0 report's SAX reader reads what the DOM decoder reads") {
    const wire::Dom0Report report = full_report();
    const json encoded = wire::encode(report);
    auto fast = wire::read_dom0_report(encoded.dump());
    REQUIRE(fast);
    CHECK(*fast == report);
    CHECK(agree(encoded.dump(2)));  // whitespace

    json extended = encoded;
    add_unknown_dom0_fields(extended);
    CHECK(agree(extended.dump()));
    CHECK(*wire::read_dom0_report(extended.dump()) == report);

    json unversioned = encoded;
    unversioned.erase("v");
    CHECK(agree(unversioned.dump()));
    // The smallest report, an agent's of before the metrics, and a VM with empty metrics.
    CHECK(agree(R"({"capacity": {"vcpus": 1, "memory_mib": 1}})"));
    CHECK(agree(R"({"mac": "52:54:00:00:00:02", "capacity": {"vcpus": 4, "memory_mib": 2048},
                    "vms": [{"name": "a", "template": "t@1"}]})"));
    CHECK(agree(R"({"capacity": {"vcpus": 1, "memory_mib": 1},
                    "vms": [{"name": "a", "metrics": {}}]})"));
    // A weight without its parameter reads as 0; a CPU mode this side does not know is ignored.
    json unnamed = encoded;
    unnamed["vms"][0]["metrics"].erase("cpu_weight_parameter");
    unnamed["metrics"]["cpu_seconds"]["guest"] = "anything";
    CHECK(agree(unnamed.dump()));
    CHECK(wire::read_dom0_report(unnamed.dump())->vms[0].metrics->cpu_weight == 0);
    // Integers where numbers are read, and an integer built signed (-0).
    CHECK(agree(R"({"capacity": {"vcpus": -0, "memory_mib": 1, "load": 1}})"));
}

TEST_CASE("wire: the Dom0 report's SAX reader gives up on what the DOM refuses") {
    const json encoded = wire::encode(full_report());
    // Each a JSON pointer and what it becomes: the DOM decoder refuses every one.
    const std::vector<std::pair<std::string, json>> refused = {
        {"/v", 2},
        {"/v", 0},
        {"/v", "1"},
        {"/v", 1.0},
        {"/mac", ""},
        {"/mac", 5},
        {"/capacity", 1},
        {"/capacity", json::array()},
        {"/capacity/vcpus", -2},
        {"/capacity/vcpus", 4294967296ull},
        {"/capacity/vcpus", 1.5},
        {"/capacity/load", "high"},
        {"/capacity/live_migration", "yes"},
        {"/capacity/libvirt_uri", 1},
        {"/vms", json::object()},
        {"/vms", "none"},
        {"/vms/0", "web1"},
        {"/vms/0", json::array()},
        {"/vms/0/name", ""},
        {"/vms/0/vcpus", "2"},
        {"/vms/1/restart_pending", 1},
        {"/vms/0/metrics", 1},
        {"/vms/0/metrics/uuid", ""},
        {"/vms/0/metrics/state_code", 8},
        {"/vms/0/metrics/cpu_time_seconds", -0.5},
        {"/vms/0/metrics/cpu_weight", -1},
        {"/vms/0/metrics/memory_used_bytes", 1.5},
        {"/vms/0/metrics/disks", json::object()},
        {"/vms/0/metrics/disks/0", 1},
        {"/vms/0/metrics/disks/0/device", ""},
        {"/vms/0/metrics/disks/0/read_bytes", "1000"},
        {"/vms/0/metrics/disks/0/read_bytes", 18446744073709551615ull},
        {"/vms/0/metrics/interfaces/1/receive_errors", -3},
        {"/vms/0/netservices", json::object()},
        {"/vms/0/netservices/0", "rate-limit"},
        {"/vms/0/netservices/0/egress_bps", 1},
        {"/vms/0/netservices/1/peer", "not an address"},
        {"/metrics", 1},
        {"/metrics/cpu_seconds", json::array()},
        {"/metrics/cpu_seconds/user", "1"},
        {"/metrics/cpu_seconds/idle", -1},
        {"/metrics/memory_total_bytes", -1},
        {"/metrics/load1", "high"},
        {"/metrics/network", json::object()},
        {"/metrics/network/0/device", ""},
        {"/metrics/network/0/receive_errors", "3"},
        {"/metrics/filesystem", "/"},
        {"/metrics/filesystem/size_bytes", 1.5},
        {"/metrics/filesystem/mountpoint", ""},
        {"/templates", "debian@12"},
        {"/templates/0", "debian"},
        {"/templates/0", "@1"},
        {"/templates/0", "debian@"},
        {"/templates/0", 1},
        {"/templates/0", nullptr},
        {"/templates/0", std::string(300, 'a') + "@1"},
    };
    for (const auto& change : refused) {
        const std::string& pointer = change.first;
        CAPTURE(pointer);
        CAPTURE(change.second.dump());
        json wrong = encoded;
        wrong[json::json_pointer(pointer)] = change.second;
        CHECK_FALSE(wire::parse<wire::Dom0Report>(wrong.dump()));
        CHECK_FALSE(wire::read_dom0_report(wrong.dump()));
    }
    for (const std::string pointer :
         {"/capacity", "/capacity/vcpus", "/capacity/memory_mib", "/vms/1/name",
          "/vms/0/metrics/disks/1/device", "/vms/0/metrics/interfaces/0/device",
          "/metrics/network/1/device", "/vms/0/netservices/0/type"}) {
        CAPTURE(pointer);
        json missing = encoded;
        json::json_pointer p(pointer);
        missing[p.parent_pointer()].erase(p.back());
        CHECK_FALSE(wire::parse<wire::Dom0Report>(missing.dump()));
        CHECK_FALSE(wire::read_dom0_report(missing.dump()));
    }
    json many = encoded;
    many["templates"] = json::array();
    for (std::size_t i = 0; i <= wire::Dom0Report::kMaxTemplates; ++i)
        many["templates"].push_back("t@" + std::to_string(i));
    CHECK_FALSE(wire::read_dom0_report(many.dump()));
    many["templates"].erase(0);  // at the bound: read
    CHECK(agree(many.dump()));

    // Not JSON, not an object, past the limits.
    const std::string text = encoded.dump();
    for (const std::string& bad : {std::string(""), text.substr(0, text.size() - 1), text + "x",
                                   std::string("[") + text + "]", std::string("\"text\""),
                                   std::string("{\"capacity\": {\"vcpus\": 1e999, "
                                               "\"memory_mib\": 1}}")}) {
        CAPTURE(bad);
        CHECK_FALSE(wire::parse<wire::Dom0Report>(bad));
        CHECK_FALSE(wire::read_dom0_report(bad));
    }
    CHECK_FALSE(wire::read_dom0_report(text, {text.size() - 1, 64}));
    CHECK(wire::read_dom0_report(text, {text.size(), 64}));
    CHECK_FALSE(wire::read_dom0_report(text, {1 << 20, 5}));  // a disk is 6 levels down
    CHECK(wire::read_dom0_report(text, {1 << 20, 6}));
}

TEST_CASE("wire: the Dom0 report's SAX reader leaves a key given twice and a null to the DOM") {
    // The DOM reads both (the last of two keys; a null optional field as absent): the server
    // decodes them its old way, so this reader need not mirror either.
    const std::string twice =
        R"({"capacity": {"vcpus": 1, "memory_mib": 1}, "capacity": {"vcpus": 2, "memory_mib": 2}})";
    CHECK(wire::parse<wire::Dom0Report>(twice));
    CHECK_FALSE(wire::read_dom0_report(twice));
    const std::string vms_twice = R"({"capacity": {"vcpus": 1, "memory_mib": 1},
        "vms": [{"name": "a"}], "vms": [{"name": "b"}]})";
    CHECK(wire::parse<wire::Dom0Report>(vms_twice)->vms.at(0).name == "b");
    CHECK_FALSE(wire::read_dom0_report(vms_twice));
    const std::string null_load = R"({"capacity": {"vcpus": 1, "memory_mib": 1, "load": null}})";
    CHECK(wire::parse<wire::Dom0Report>(null_load));
    CHECK_FALSE(wire::read_dom0_report(null_load));
    // A key given twice inside a network service is the DOM's own reading (the last one).
    const std::string service_twice = R"({"capacity": {"vcpus": 1, "memory_mib": 1},
        "vms": [{"name": "a", "netservices": [{"type": "compress", "type": "rate-limit",
                                               "egress_bps": 10000}]}]})";
    CHECK(agree(service_twice));
    CHECK(wire::read_dom0_report(service_twice)->vms.at(0).netservices.at(0).kind ==
          wire::NetService::Kind::rate_limit);
}
