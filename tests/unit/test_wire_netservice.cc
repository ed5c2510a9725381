// The network-service contract (provisioner/wire/netservice.h): a Dom0 answer's desired
// services and a report's active ones round-trip; the decoder refuses what nft or tc must
// never see (a peer that is no address, a CIDR with a bad prefix, an unknown protocol).
#include <doctest/doctest.h>

#include <string>

#include "provisioner/wire/dom0.h"
#include "provisioner/wire/netservice.h"

namespace wire = provisioner::wire;
using nlohmann::json;

namespace {

std::vector<wire::NetService> all_three() {
    wire::NetService compress;
    compress.kind = wire::NetService::Kind::compress;
    compress.peer = "10.77.0.12";
    compress.to = {"10.2.0.0/24", "10.3.0.5"};
    wire::NetService limit;
    limit.kind = wire::NetService::Kind::rate_limit;
    limit.egress_bps = 100'000'000;
    limit.ingress_bps = 8'000;
    wire::NetService filter;
    filter.kind = wire::NetService::Kind::filter;
    filter.allow = {{"tcp", 22, "10.0.0.0/8"}, {"udp", 53, ""}, {"icmp", 0, ""}};
    return {compress, limit, filter};
}

json answer_with(json services) {
    return {{"v", 1},
            {"actions", json::array()},
            {"netservices", json::array({{{"vm", "vm1"}, {"services", std::move(services)}}})}};
}

}  // namespace

TEST_CASE("wire netservice: a Dom0 answer's services and a report's round-trip") {
    wire::Dom0Answer answer;
    answer.netservices = std::vector<wire::VmNetServices>{{"vm1", all_three()}, {"vm2", {}}};
    auto back = wire::decode<wire::Dom0Answer>(wire::encode(answer));
    REQUIRE_MESSAGE(back, back.status().message());
    CHECK(*back == answer);

    wire::Dom0Answer older;  // no "netservices": the agent keeps what it has
    auto old_back = wire::decode<wire::Dom0Answer>(wire::encode(older));
    REQUIRE(old_back);
    CHECK_FALSE(old_back->netservices.has_value());
    wire::Dom0Answer none;  // present and empty: no VM of the host has any
    none.netservices.emplace();
    auto none_back = wire::decode<wire::Dom0Answer>(wire::encode(none));
    REQUIRE(none_back);
    REQUIRE(none_back->netservices.has_value());
    CHECK(none_back->netservices->empty());

    wire::Dom0Report report;
    report.capacity.vcpus = 4;
    report.capacity.memory_mib = 1024;
    wire::ReportedVm vm;
    vm.name = "vm1";
    vm.state = "running";
    vm.netservices = all_three();
    report.vms.push_back(vm);
    auto report_back = wire::decode<wire::Dom0Report>(wire::encode(report));
    REQUIRE_MESSAGE(report_back, report_back.status().message());
    CHECK(*report_back == report);
    CHECK_FALSE(wire::encode(wire::Dom0Report{}).dump().find("netservices") != std::string::npos);
}

TEST_CASE("wire netservice: the answer's tunnel key round-trips; only 64 lowercase hex") {
    wire::Dom0Answer answer;
    answer.netservices = std::vector<wire::VmNetServices>{{"vm1", all_three()}};
    answer.tunnel_key = std::string(32, 'a') + std::string(32, '7');
    auto back = wire::decode<wire::Dom0Answer>(wire::encode(answer));
    REQUIRE_MESSAGE(back, back.status().message());
    CHECK(back->tunnel_key == answer.tunnel_key);
    CHECK(*back == answer);
    CHECK_FALSE(wire::encode(wire::Dom0Answer{}).contains("tunnel_key"));  // absent when ""

    for (const json& bad : {json(std::string(63, 'a')), json(std::string(65, 'a')),
                            json(std::string(64, 'A')), json(std::string(63, 'a') + "g"),
                            json(""), json(42)}) {
        json message = answer_with(json::array());
        message["tunnel_key"] = bad;
        auto r = wire::decode<wire::Dom0Answer>(message);
        CHECK_FALSE(r);
        if (!r) CHECK(r.status().message().find("tunnel_key") != std::string::npos);
    }
}

TEST_CASE("wire netservice: describe says it in one line") {
    auto s = all_three();
    CHECK(wire::describe(s[0]) == "compress to 10.2.0.0/24 10.3.0.5 via 10.77.0.12");
    CHECK(wire::describe(s[1]) == "rate-limit egress 100mbit ingress 8kbit");
    CHECK(wire::describe(s[2]) == "filter allow tcp/22 from 10.0.0.0/8 udp/53 icmp");
}

TEST_CASE("wire netservice: what nft and tc must not see is refused, by field") {
    const auto refused = [](json service, const std::string& says) {
        auto r = wire::decode<wire::Dom0Answer>(answer_with(json::array({std::move(service)})));
        REQUIRE_FALSE(r);
        CHECK_MESSAGE(r.status().message().find(says) != std::string::npos, r.status().message());
    };
    refused({{"type", "compress"}, {"peer", "10.0.0.1; flush ruleset"}, {"to", {"10.1.0.0/16"}}},
            "netservices[0].services[0].peer\" is not an IPv4 address");
    refused({{"type", "compress"}, {"peer", "10.0.0.1"}, {"to", {"10.1.0.0/33"}}},
            "not an IPv4 CIDR");
    refused({{"type", "compress"}, {"peer", "10.0.0.1"}, {"to", json::array()}}, "1 to 256 CIDRs");
    refused({{"type", "compress"}, {"peer", "10.0.0.1"}},
            "\"netservices[0].services[0].to\" is missing");
    refused({{"type", "rate-limit"}}, "needs egress_bps or ingress_bps");
    refused({{"type", "rate-limit"}, {"egress_bps", 10}}, "at least 8000");
    refused({{"type", "rate-limit"}, {"egress_bps", -1}}, "must not be negative");
    refused({{"type", "filter"}, {"allow", {{{"proto", "sctp"}}}}}, "must be tcp, udp or icmp");
    refused({{"type", "filter"}, {"allow", {{{"proto", "tcp"}, {"port", 70000}}}}}, "port");
    refused({{"type", "filter"}, {"allow", {{{"proto", "icmp"}, {"port", 8}}}}}, "is not for icmp");
    refused({{"type", "filter"}, {"allow", {{{"proto", "tcp"}, {"from", "any"}}}}}, "from");
    refused({{"type", "nat"}}, "must be compress, rate-limit or filter");
    auto twice = wire::decode<wire::Dom0Answer>(
        answer_with(json::array({{{"type", "filter"}}, {{"type", "filter"}}})));
    REQUIRE_FALSE(twice);
    CHECK(twice.status().message().find("two of type filter") != std::string::npos);
}
