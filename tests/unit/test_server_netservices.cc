// provisionerd's NetServiceBoard (netservice_board.h): the applied site's network services, kept
// in the store and read back after a restart, handed per host, and diffed against what the
// agents report installed.
#include <doctest/doctest.h>

#include "netservice_board.h"
#include "provisioner/site.h"
#include "provisioner/store.h"

using namespace provisioner;
using namespace provisioner::server;

namespace {

site::Site site_of(const std::string& vm1_services) {
    auto site = site::load_site(
        "<XSMConfig><Set name=\"s\"><VM name=\"vm1\"><VCPUS>1</VCPUS><MEM>64</MEM>" + vm1_services +
        "</VM><VM name=\"vm2\"><VCPUS>1</VCPUS><MEM>64</MEM></VM></Set></XSMConfig>");
    REQUIRE_MESSAGE(site, site.status().message());
    return *site;
}

}  // namespace

TEST_CASE(
    "server netservices: the site's set per VM, kept across a restart, diffed against reports") {
    auto store = open_sqlite_store(":memory:");
    REQUIRE(store);
    NetServiceBoard board(**store);
    REQUIRE(board.load());  // nothing stored yet: nothing desired
    CHECK(board.for_host("h1", "", {"vm1"}).at(0).services.empty());

    const auto on = site_of(
        R"(<NETSERVICE type="compress" peer="10.77.0.12" to="10.102.0.0/24"/>
           <NETSERVICE type="filter"><ALLOW proto="tcp" port="22"/></NETSERVICE>)");
    CHECK(board.changes(on) ==
          std::vector<std::string>{"vm1: on compress to 10.102.0.0/24 via 10.77.0.12",
                                   "vm1: on filter allow tcp/22"});
    REQUIRE(board.set_site(on));
    auto handed = board.for_host("h1", "", {"vm1", "vm2"});
    REQUIRE(handed.size() == 2);
    CHECK(handed[0].vm == "vm1");
    CHECK(handed[0].services.size() == 2);
    CHECK(handed[1].services.empty());

    NetServiceBoard restarted(**store);
    REQUIRE(restarted.load());
    CHECK(restarted.for_host("h1", "", {"vm1"}) == std::vector<wire::VmNetServices>{handed[0]});

    board.reported("vm1", handed[0].services);
    CHECK(board.active("vm1").size() == 2);
    CHECK(board.changes(on).empty());
    const auto changed =
        site_of(R"(<NETSERVICE type="filter"><ALLOW proto="tcp" port="80"/></NETSERVICE>)");
    CHECK(board.changes(changed) ==
          std::vector<std::string>{"vm1: off compress to 10.102.0.0/24 via 10.77.0.12",
                                   "vm1: change filter allow tcp/80"});
    board.reported("vm1", {});
    CHECK(board.active("vm1").empty());
}

TEST_CASE("server netservices: an answer speaks for the VMs the site places on the host too") {
    // A restarted agent whose VM is not running again yet reports no VM: its answer still
    // carries the services of the VMs the site put on its host, so the agent keeps them.
    auto store = open_sqlite_store(":memory:");
    REQUIRE(store);
    NetServiceBoard board(**store);
    REQUIRE(board.load());
    auto site = site::load_site(
        "<XSMConfig><Set name=\"s\"><VM name=\"vm1\"><VCPUS>1</VCPUS><MEM>64</MEM>"
        "<NETSERVICE type=\"filter\"><ALLOW proto=\"tcp\" port=\"22\"/></NETSERVICE></VM>"
        "<VM name=\"vm2\"><DOM0>10.0.0.2</DOM0><VCPUS>1</VCPUS><MEM>64</MEM>"
        "<NETSERVICE type=\"filter\"><ALLOW proto=\"icmp\"/></NETSERVICE></VM>"
        "<VM name=\"vm3\"><VCPUS>1</VCPUS><MEM>64</MEM></VM></Set></XSMConfig>");
    REQUIRE_MESSAGE(site, site.status().message());
    REQUIRE(board.set_site(*site, {{"vm1", "h1", ""}, {"vm3", "h1", ""}}));

    auto h1 = board.for_host("h1", "10.0.0.1", {});
    REQUIRE(h1.size() == 1);  // vm3 has no services: nothing to say for it unreported
    CHECK(h1[0].vm == "vm1");
    CHECK(h1[0].services.size() == 1);
    auto h2 = board.for_host("h2", "10.0.0.2", {});  // vm2 pinned by its DOM0 address
    REQUIRE(h2.size() == 1);
    CHECK(h2[0].vm == "vm2");
    // Reported elsewhere (moving away): the reporting host hears of it, once.
    auto moving = board.for_host("h2", "10.0.0.2", {"vm1", "vm2"});
    REQUIRE(moving.size() == 2);
    CHECK(moving[0].vm == "vm1");
    CHECK(moving[1].vm == "vm2");
    CHECK(board.for_host("h3", "10.0.0.3", {}).empty());

    NetServiceBoard restarted(**store);  // the placement is kept with the set
    REQUIRE(restarted.load());
    CHECK(restarted.for_host("h1", "", {}) == h1);
    CHECK(restarted.for_host("h2", "10.0.0.2", {}) == h2);

    REQUIRE(store.value()->set_setting(NetServiceBoard::kPlacementSetting, "[1]"));
    NetServiceBoard broken(**store);
    CHECK(broken.load().code() == Code::storage);
}
