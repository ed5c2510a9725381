// Placement constraints shared by every algorithm: together, apart, pinned hosts, VMs that
// stay where they run, and malformed requests.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "provisioner/placement.h"

using namespace provisioner;
using namespace provisioner::placement;

namespace {

Request three_hosts() {
    Request request;
    request.hosts = {{"a", "10.0.0.1", 8, 8192, 0, 0, 0},
                     {"b", "10.0.0.2", 8, 8192, 0, 0, 0},
                     {"c", "10.0.0.3", 8, 8192, 0, 0, 0}};
    return request;
}

Vm vm(const std::string& name, std::uint32_t vcpus = 1, std::uint64_t mem = 1024,
      const std::string& pin = "", const std::string& current = "") {
    return Vm{name, vcpus, mem, pin, current};
}

Result<Placement> place(const std::string& algorithm, const Request& request) {
    return (*make_placer(algorithm))->place(request);
}

std::string host_of(const Placement& p, const std::string& name) {
    for (const Assignment& a : p.assignments)
        if (a.vm == name) return a.host;
    return "";
}

}  // namespace

TEST_CASE("placement: together VMs share a host, apart VMs never do") {
    for (const std::string& algorithm : placer_names()) {
        CAPTURE(algorithm);
        Request request = three_hosts();
        request.vms = {vm("web"), vm("db", 2, 2048), vm("cache"), vm("x"), vm("y"), vm("z")};
        request.together = {{"web", "cache"}, {"cache", "db"}};
        request.apart = {{"x", "y", "z"}, {"web", "x"}};
        auto placed = place(algorithm, request);
        REQUIRE(placed.is_ok());
        REQUIRE_MESSAGE(placed->ok(), placed->status().message());
        const Placement& p = *placed;
        CHECK(host_of(p, "web") == host_of(p, "db"));
        CHECK(host_of(p, "web") == host_of(p, "cache"));
        CHECK(std::set<std::string>{host_of(p, "x"), host_of(p, "y"), host_of(p, "z")}.size() == 3);
        CHECK(host_of(p, "web") != host_of(p, "x"));
        CHECK(p.assignments[0].reason.find(" (together with db, cache)") != std::string::npos);
    }
}

TEST_CASE("placement: a together group must fit on one host; apart needs enough hosts") {
    for (const std::string& algorithm : placer_names()) {
        CAPTURE(algorithm);
        Request request = three_hosts();
        request.vms = {vm("p", 5), vm("q", 5)};
        request.together = {{"p", "q"}};
        auto placed = place(algorithm, request);
        REQUIRE(placed.is_ok());
        REQUIRE(placed->unplaced.size() == 2);
        CHECK(placed->unplaced[0].reason.find(
                  "needs 10 vcpus / 2048 MiB, more than any host has") == 0);
        CHECK(placed->unplaced[1].reason.find("(together with p)") != std::string::npos);

        request.vms = {vm("w1"), vm("w2"), vm("w3"), vm("w4")};
        request.together.clear();
        request.apart = {{"w1", "w2", "w3", "w4"}};
        placed = place(algorithm, request);
        REQUIRE(placed.is_ok());
        REQUIRE(placed->unplaced.size() == 1);
        CHECK(placed->unplaced[0].vm == "w4");
        CHECK(placed->unplaced[0].reason.find("3 host(s) excluded by apart") != std::string::npos);
        CHECK(placed->assignments.empty());
    }
}

TEST_CASE("placement: pinned VMs go to their host, by name or address, within its capacity") {
    for (const std::string& algorithm : placer_names()) {
        CAPTURE(algorithm);
        Request request = three_hosts();
        request.vms = {vm("free"), vm("p1", 3, 1024, "10.0.0.3"), vm("p2", 4, 1024, "c"),
                       vm("buddy")};
        request.together = {{"p1", "buddy"}};
        auto placed = place(algorithm, request);
        REQUIRE(placed.is_ok());
        REQUIRE_MESSAGE(placed->ok(), placed->status().message());
        CHECK(host_of(*placed, "p1") == "c");
        CHECK(host_of(*placed, "p2") == "c");
        CHECK(host_of(*placed, "buddy") == "c");
        CHECK(placed->assignments[1].reason == "pinned to c by DOM0 (together with buddy)");

        // c now lacks room for one more pinned vcpu: a pin is never overridden.
        request.vms.push_back(vm("p3", 1, 1024, "c"));
        request.vms.push_back(vm("lost", 1, 1024, "10.9.9.9"));
        placed = place(algorithm, request);
        REQUIRE(placed.is_ok());
        REQUIRE(placed->unplaced.size() == 2);
        CHECK(placed->unplaced[0].reason ==
              "pinned to c, which cannot take 1 vcpus / 1024 MiB (0 vcpus / 5120 MiB free of 8 / "
              "8192)");
        CHECK(placed->unplaced[1].reason == "pinned to 10.9.9.9, which is not a known host");
    }
}

TEST_CASE("placement: running VMs stay where they are unless they no longer fit") {
    for (const std::string& algorithm : placer_names()) {
        CAPTURE(algorithm);
        Request request = three_hosts();
        // Every algorithm would put the first VM on a (or, first-fit, on any empty host); they
        // run on c and b and stay there.
        request.vms = {vm("s1", 2, 1024, "", "c"), vm("s2", 2, 1024, "", "10.0.0.2"), vm("new")};
        auto placed = place(algorithm, request);
        REQUIRE(placed.is_ok());
        REQUIRE(placed->ok());
        CHECK(host_of(*placed, "s1") == "c");
        CHECK(host_of(*placed, "s2") == "b");
        CHECK(placed->assignments[0].reason == "stays on c, where it runs");

        // s1 grew beyond c's capacity: it moves; a VM pinned elsewhere moves too.
        request.hosts[2].vcpus = 4;
        request.vms = {vm("s1", 6, 1024, "", "c"), vm("s2", 2, 1024, "a", "b")};
        placed = place(algorithm, request);
        REQUIRE(placed->ok());
        CHECK(host_of(*placed, "s1") != "c");
        CHECK(host_of(*placed, "s2") == "a");

        // A staying VM keeps an apart partner off its host; a vanished host is ignored.
        request = three_hosts();
        request.vms = {vm("n1"), vm("r1", 1, 1024, "", "a"), vm("gone", 1, 1024, "", "zz")};
        request.apart = {{"n1", "r1"}};
        placed = place(algorithm, request);
        REQUIRE(placed->ok());
        CHECK(host_of(*placed, "r1") == "a");
        CHECK(host_of(*placed, "n1") != "a");
        CHECK(host_of(*placed, "gone") != "");
    }
}

TEST_CASE("placement: reserved capacity is not given out") {
    Request request;
    request.hosts = {{"a", "", 8, 8192, 0, 6, 7168}, {"b", "", 8, 8192, 0, 0, 0}};
    request.vms = {vm("v1", 2, 1024), vm("v2", 2, 1024)};
    auto placed = place("round-robin", request);
    REQUIRE(placed->ok());
    CHECK(host_of(*placed, "v1") == "a");
    CHECK(host_of(*placed, "v2") == "b");  // a has no room left
}

TEST_CASE("placement: malformed requests are errors, not unplaced VMs") {
    Request request = three_hosts();
    request.vms = {vm("a1"), vm("a1")};
    CHECK(place("first-fit", request).status().message() == "VM a1 is named twice");
    request.vms = {vm("a1"), vm("zero", 0)};
    CHECK(place("round-robin", request).status().code() == Code::invalid_argument);
    request.vms = {vm("a1")};
    request.together = {{"a1", "nope"}};
    CHECK(place("first-fit", request).status().message() ==
          "a together constraint names unknown VM \"nope\"");
    request.together.clear();
    request.hosts.push_back({"d", "10.0.0.1", 1, 1, 0, 0, 0});
    CHECK(place("first-fit", request).status().message().find("is named twice") !=
          std::string::npos);

    // Together and apart at once is a VM that cannot be placed, with the reason.
    request = three_hosts();
    request.vms = {vm("x"), vm("y")};
    request.together = {{"x", "y"}};
    request.apart = {{"x", "y"}};
    auto placed = place("first-fit", request);
    REQUIRE(placed.is_ok());
    REQUIRE(placed->unplaced.size() == 2);
    CHECK(placed->unplaced[0].reason ==
          "it must be both together with and apart from y (together with y)");
}
