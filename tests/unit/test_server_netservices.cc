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
    CHECK(board.for_vms({"vm1"}).at(0).services.empty());

    const auto on = site_of(
        R"(<NETSERVICE type="compress" peer="10.77.0.12" to="10.102.0.0/24"/>
           <NETSERVICE type="filter"><ALLOW proto="tcp" port="22"/></NETSERVICE>)");
    CHECK(board.changes(on) ==
          std::vector<std::string>{"vm1: on compress to 10.102.0.0/24 via 10.77.0.12",
                                   "vm1: on filter allow tcp/22"});
    REQUIRE(board.set_site(on));
    auto handed = board.for_vms({"vm1", "vm2"});
    REQUIRE(handed.size() == 2);
    CHECK(handed[0].vm == "vm1");
    CHECK(handed[0].services.size() == 2);
    CHECK(handed[1].services.empty());

    NetServiceBoard restarted(**store);
    REQUIRE(restarted.load());
    CHECK(restarted.for_vms({"vm1"}) == std::vector<wire::VmNetServices>{handed[0]});

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
