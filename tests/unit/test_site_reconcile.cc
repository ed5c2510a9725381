// Reconcile: the plan from the actual state to the desired one (add, remove, resize, move),
// its order and validation, and idempotence of applying a site twice.
#include <doctest/doctest.h>

#include <string>

#include "provisioner/reconcile.h"
#include "provisioner/site.h"

using namespace provisioner;
using namespace provisioner::reconcile;

namespace {

ActualHost host(const std::string& name, const std::string& address, std::uint32_t vcpus = 8,
                std::uint64_t memory = 8192) {
    ActualHost h;
    h.name = name;
    h.address = address;
    h.vcpus = vcpus;
    h.memory_mib = memory;
    return h;
}

ActualState three_hosts() {
    return ActualState{
        {host("h1", "192.168.5.101"), host("h2", "192.168.5.102"), host("h3", "192.168.5.103")}};
}

site::Site parse(const std::string& xml) {
    auto site = site::load_site(xml);
    REQUIRE_MESSAGE(site.is_ok(), site.status().message());
    return std::move(*site);
}

std::string vm_xml(const std::string& name, int vcpus, int mem, const std::string& extra = "") {
    return "<VM name=\"" + name + "\"><VCPUS>" + std::to_string(vcpus) + "</VCPUS><MEM>" +
           std::to_string(mem) + "</MEM>" + extra + "</VM>\n";
}

std::string site_xml(const std::string& vms, const std::string& algorithm = "round-robin") {
    return "<XSMConfig placement=\"" + algorithm + "\">\n<Set name=\"s\">\n" + vms +
           "</Set>\n</XSMConfig>\n";
}

// What the agents would report once `plan` has run on `actual`.
ActualState after(const ActualState& actual, const Plan& plan) {
    ActualState out = actual;
    for (const Action& a : plan.actions) {
        for (ActualHost& h : out.hosts) {
            auto& vms = h.vms;
            if (a.kind == ActionKind::remove || a.kind == ActionKind::migrate) {
                for (auto it = vms.begin(); it != vms.end(); ++it) {
                    if (it->name != a.vm) continue;
                    vms.erase(it);
                    break;
                }
            }
            if (h.name != a.host) continue;
            if (a.kind == ActionKind::create) vms.push_back({a.vm, a.vcpus, a.memory_mib, a.image});
            if (a.kind == ActionKind::migrate) vms.push_back({a.vm, a.vcpus, a.memory_mib, ""});
            if (a.kind == ActionKind::reconfigure)
                for (RunningVm& vm : vms)
                    if (vm.name == a.vm) {
                        vm.vcpus = a.vcpus;
                        vm.memory_mib = a.memory_mib;
                    }
        }
    }
    return out;
}

Plan plan_ok(const site::Site& site, const ActualState& actual) {
    auto plan = plan_site(site, actual);
    REQUIRE_MESSAGE(plan.is_ok(), plan.status().message());
    CHECK(validate_plan(*plan, actual).is_ok());
    return std::move(*plan);
}

}  // namespace

TEST_CASE("site: apply to an empty site creates, and applying again changes nothing") {
    const site::Site site = parse(site_xml(vm_xml("a", 2, 1024) + vm_xml("b", 2, 1024) +
                                           vm_xml("c", 1, 512, "<TEMPLATE>deb@2</TEMPLATE>")));
    const ActualState empty = three_hosts();
    const Plan first = plan_ok(site, empty);
    REQUIRE(first.actions.size() == 3);
    CHECK(first.actions[0].kind == ActionKind::create);
    CHECK(first.actions[0].host == "h1");
    CHECK(first.actions[1].host == "h2");
    CHECK(first.actions[2].host == "h3");
    CHECK(first.actions[2].image == "deb@2");
    CHECK(first.actions[2].reason == "new; round-robin: next host in turn with room");
    REQUIRE(first.placement.size() == 3);

    const ActualState running = after(empty, first);
    const Plan second = plan_ok(site, running);
    CHECK_MESSAGE(second.empty(), second.describe());
    CHECK(second.describe() == "nothing to do");
    // With another algorithm too: running VMs stay put.
    CHECK(plan_site(site, running, "first-fit")->empty());
    CHECK(plan_site(site, running, "weighted-round-robin")->empty());
}

TEST_CASE("site: XSM's Figure 3 site applied twice") {
    std::string vms;
    for (int i = 1; i <= 4; ++i)
        vms += "<VM name=\"vm" + std::to_string(i) +
               "\" config=\"apache_svr\">\n<DOM0>192.168.5.10" + std::to_string(i) +
               "</DOM0>\n<VCPUS>4</VCPUS>\n<HWADDR>AA:00:00:00:00:0" + std::to_string(i) +
               "</HWADDR>\n<IP>DHCP</IP>\n<MEM>96</MEM>\n</VM>\n";
    const site::Site site =
        parse("<XSMConfig>\n<Set name=\"My_site\">\n<Owner>root@domain.com</Owner>\n" + vms +
              "</Set>\n</XSMConfig>\n");
    ActualState actual = three_hosts();
    actual.hosts.push_back(host("h4", "192.168.5.104"));
    const Plan plan = plan_ok(site, actual);
    REQUIRE(plan.actions.size() == 4);
    for (int i = 0; i < 4; ++i) {
        CHECK(plan.actions[i].host == "h" + std::to_string(i + 1));
        CHECK(plan.actions[i].reason == "new; pinned to h" + std::to_string(i + 1) + " by DOM0");
    }
    CHECK(plan_ok(site, after(actual, plan)).empty());
}

TEST_CASE("site: editing the file adds, removes, resizes and moves VMs") {
    const ActualState empty = three_hosts();
    const site::Site v1 =
        parse(site_xml(vm_xml("keep", 1, 512) + vm_xml("gone", 1, 512) + vm_xml("grow", 1, 512) +
                       vm_xml("move", 1, 512, "<DOM0>h1</DOM0>")));
    const ActualState running = after(empty, plan_ok(v1, empty));

    const site::Site v2 = parse(site_xml(vm_xml("keep", 1, 512) + vm_xml("grow", 4, 2048) +
                                         vm_xml("move", 1, 512, "<DOM0>192.168.5.103</DOM0>") +
                                         vm_xml("added", 2, 256)));
    const Plan plan = plan_ok(v2, running);
    INFO(plan.describe());
    REQUIRE(plan.actions.size() == 4);
    CHECK(plan.actions[0].kind == ActionKind::remove);
    CHECK(plan.actions[0].vm == "gone");
    CHECK(plan.actions[0].reason == "no longer in the site file");
    CHECK(plan.actions[1].kind == ActionKind::migrate);
    CHECK(plan.actions[1].vm == "move");
    CHECK(plan.actions[1].from_host == "h1");
    CHECK(plan.actions[1].host == "h3");
    CHECK(plan.actions[1].reason == "pinned to h3 by DOM0");
    CHECK(plan.actions[2].kind == ActionKind::reconfigure);
    CHECK(plan.actions[2].vm == "grow");
    CHECK(plan.actions[2].vcpus == 4);
    CHECK(plan.actions[2].memory_mib == 2048);
    CHECK(plan.actions[2].reason == "from 1 vcpus, 512 MiB");
    CHECK(plan.actions[3].kind == ActionKind::create);
    CHECK(plan.actions[3].vm == "added");
    CHECK(plan_ok(v2, after(running, plan)).empty());
}

TEST_CASE("site: a moved VM that also grows moves at its size, then grows on its new host") {
    const ActualState empty = three_hosts();
    const site::Site v1 = parse(site_xml(vm_xml("web", 1, 512, "<DOM0>h1</DOM0>")));
    const ActualState running = after(empty, plan_ok(v1, empty));
    const site::Site v2 = parse(site_xml(vm_xml("web", 2, 1024, "<DOM0>h2</DOM0>")));
    const Plan plan = plan_ok(v2, running);
    INFO(plan.describe());
    REQUIRE(plan.actions.size() == 2);
    CHECK(plan.actions[0].kind == ActionKind::migrate);
    CHECK(plan.actions[0].from_host == "h1");
    CHECK(plan.actions[0].host == "h2");
    CHECK(plan.actions[0].vcpus == 1);
    CHECK(plan.actions[0].memory_mib == 512);
    CHECK(plan.actions[1].kind == ActionKind::reconfigure);
    CHECK(plan.actions[1].host == "h2");
    CHECK(plan.actions[1].vcpus == 2);
    CHECK(plan.actions[1].memory_mib == 1024);
    CHECK(plan_ok(v2, after(running, plan)).empty());
}

TEST_CASE("site: the plan frees room before it uses it, and splits a mixed resize") {
    // h1 is full: a shrinks its memory and grows its vcpus; b moves in only once c has left.
    ActualState actual{{host("h1", "", 4, 4096), host("h2", "", 4, 4096)}};
    actual.hosts[0].vms = {{"a", 1, 3072, ""}, {"c", 2, 1024, ""}};
    actual.hosts[1].vms = {{"b", 2, 1024, ""}};
    const std::vector<DesiredVm> desired{
        {"a", "h1", 2, 1024, "", ""}, {"b", "h1", 2, 1024, "", ""}, {"c", "h2", 2, 1024, "", ""}};
    auto plan = make_plan(desired, actual);
    REQUIRE_MESSAGE(plan.is_ok(), plan.status().message());
    INFO(plan->describe());
    REQUIRE(plan->actions.size() == 4);
    CHECK(plan->actions[0].kind == ActionKind::reconfigure);  // a: memory down first
    CHECK(plan->actions[0].vcpus == 1);
    CHECK(plan->actions[0].memory_mib == 1024);
    CHECK(plan->actions[1].vm == "c");  // c to h2 (room there), then b can come to h1
    CHECK(plan->actions[2].vm == "b");
    CHECK(plan->actions[3].kind == ActionKind::reconfigure);  // a: vcpus up last
    CHECK(plan->actions[3].vcpus == 2);
    CHECK(validate_plan(*plan, actual).is_ok());

    // The same actions in the wrong order overcommit h1: validation names the step.
    Plan wrong = *plan;
    std::swap(wrong.actions[1], wrong.actions[2]);
    const Status s = validate_plan(wrong, actual);
    CHECK(s.code() == Code::invalid_argument);
    CHECK(s.message().find("step 2: migrate b from h2 to h1") == 0);
    CHECK(s.message().find("would overcommit h1") != std::string::npos);
}

TEST_CASE("site: plans that cannot run are refused whole") {
    ActualState actual{{host("h1", "", 2, 2048), host("h2", "", 2, 2048)}};
    actual.hosts[0].vms = {{"x", 2, 2048, "deb@1"}};
    actual.hosts[1].vms = {{"y", 2, 2048, ""}};
    // Two full hosts swapping their VMs: no order avoids overcommitting.
    auto swap =
        make_plan({{"x", "h2", 2, 2048, "deb@1", ""}, {"y", "h1", 2, 2048, "", ""}}, actual);
    REQUIRE_FALSE(swap.is_ok());
    CHECK(swap.status().message().find("no order of the migrations avoids overcommitting") == 0);
    // A desired state that does not fit, an unknown host, a changed template.
    CHECK(make_plan({{"x", "h1", 2, 2048, "", ""}, {"y", "h1", 1, 10, "", ""}}, actual)
              .status()
              .message()
              .find("the desired state does not fit the hosts") == 0);
    CHECK(make_plan({{"x", "h9", 2, 2048, "", ""}}, actual).status().message() ==
          "VM x is placed on unknown host h9");
    auto image =
        make_plan({{"x", "h1", 2, 2048, "deb@2", ""}, {"y", "h2", 2, 2048, "", ""}}, actual);
    CHECK(image.status().code() == Code::conflict);
    auto recreate = make_plan({{"x", "h1", 2, 2048, "deb@2", ""}, {"y", "h2", 2, 2048, "", ""}},
                              actual, Options{true});
    REQUIRE(recreate.is_ok());
    REQUIRE(recreate->actions.size() == 2);
    CHECK(recreate->actions[0].kind == ActionKind::remove);
    CHECK(recreate->actions[1].kind == ActionKind::create);
    CHECK(recreate->actions[1].image == "deb@2");

    // Placement failure: every unplaceable VM and why, and no plan.
    const site::Site big = parse(site_xml(vm_xml("huge", 64, 512) + vm_xml("fine", 1, 10)));
    auto refused = plan_site(big, ActualState{{host("h1", "")}});
    REQUIRE_FALSE(refused.is_ok());
    CHECK(refused.status().message() ==
          "1 VM(s) cannot be placed:\nvm huge: needs 64 vcpus / 512 MiB, more than any host has "
          "(the largest: 8 vcpus, 8192 MiB)");
    CHECK(plan_site(big, ActualState{{host("h1", "")}}, "no-such")
              .status()
              .message()
              .find("unknown placement algorithm") == 0);

    // The actual state itself must make sense.
    ActualState twice{{host("h1", ""), host("h2", "")}};
    twice.hosts[0].vms = {{"v", 1, 1, ""}};
    twice.hosts[1].vms = {{"v", 1, 1, ""}};
    CHECK(make_plan({}, twice).status().message() ==
          "actual state: VM v reported on both h1 and h2");
}
