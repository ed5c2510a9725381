// Placement algorithms: EDIV's round-robin and weighted round-robin table, SO-MVDS's first-fit
// under thresholds, and the capacity invariant for every algorithm.
#include <doctest/doctest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "provisioner/placement.h"

using namespace provisioner;
using namespace provisioner::placement;

namespace {

std::unique_ptr<Placer> placer(const std::string& name, Options options = {}) {
    auto p = make_placer(name, options);
    REQUIRE_MESSAGE(p.is_ok(), p.status().message());
    return std::move(*p);
}

Placement place_ok(const Placer& p, const Request& request) {
    auto placed = p.place(request);
    REQUIRE_MESSAGE(placed.is_ok(), placed.status().message());
    REQUIRE_MESSAGE(placed->ok(), placed->status().message());
    REQUIRE(placed->assignments.size() == request.vms.size());
    return std::move(*placed);
}

std::vector<Vm> small_vms(int n) {
    std::vector<Vm> vms;
    for (int i = 0; i < n; ++i) vms.push_back({"vm" + std::to_string(i), 1, 256, "", ""});
    return vms;
}

// VMs per host, in host order.
std::vector<int> spread(const Request& request, const Placement& placement) {
    std::map<std::string, int> count;
    for (const Assignment& a : placement.assignments) ++count[a.host];
    std::vector<int> out;
    for (const auto& h : request.hosts) out.push_back(count[h.name]);
    return out;
}

double load_of(char level) {
    return level == 'H' ? 1.0 : level == 'M' ? 0.5 : 0.0;
}

}  // namespace

TEST_CASE("placement: EDIV's distribution table, round-robin and weighted round-robin") {
    struct Row {
        const char* loads;
        int vms;
        std::vector<int> round_robin;
        std::vector<int> weighted;
    };
    // EDIV (SVM 2008), "Virtual machine distribution": L = 0 %, M = 50 %, H = 100 % load.
    const std::vector<Row> table{
        {"LLL", 6, {2, 2, 2}, {2, 2, 2}},        {"MMM", 6, {2, 2, 2}, {2, 2, 2}},
        {"HLL", 6, {2, 2, 2}, {1, 3, 2}},        {"HMM", 6, {2, 2, 2}, {2, 2, 2}},
        {"LLL", 51, {17, 17, 17}, {17, 17, 17}}, {"MMM", 51, {17, 17, 17}, {17, 17, 17}},
        {"HLL", 51, {17, 17, 17}, {7, 22, 22}},  {"HMM", 51, {17, 17, 17}, {13, 19, 19}},
    };
    const auto rr = placer("round-robin");
    const auto wrr = placer("weighted-round-robin");
    for (const Row& row : table) {
        CAPTURE(row.loads);
        CAPTURE(row.vms);
        Request request;
        for (int h = 0; h < 3; ++h)
            request.hosts.push_back(
                {"H" + std::to_string(h + 1), "", 64, 65536, load_of(row.loads[h]), 0, 0});
        request.vms = small_vms(row.vms);
        CHECK(spread(request, place_ok(*rr, request)) == row.round_robin);
        CHECK(spread(request, place_ok(*wrr, request)) == row.weighted);
    }
}

TEST_CASE("placement: round-robin goes in host order and skips hosts without room") {
    Request request;
    request.hosts = {
        {"a", "", 2, 4096, 0, 0, 0}, {"b", "", 1, 4096, 0, 0, 0}, {"c", "", 4, 4096, 0, 0, 0}};
    request.vms = {{"v1", 1, 100, "", ""},
                   {"v2", 1, 100, "", ""},
                   {"v3", 1, 100, "", ""},
                   {"v4", 2, 100, "", ""},
                   {"v5", 1, 100, "", ""}};
    const Placement p = place_ok(*placer("round-robin"), request);
    // b is full after v2 and leaves the turns; v4 needs 2 vcpus, a has 1 left, so c takes v4
    // and a keeps its turn for v5.
    CHECK(p.assignments[0].host == "a");
    CHECK(p.assignments[1].host == "b");
    CHECK(p.assignments[2].host == "c");
    CHECK(p.assignments[3].host == "c");
    CHECK(p.assignments[4].host == "a");
    CHECK(p.assignments[0].reason == "round-robin: next host in turn with room");
}

TEST_CASE("placement: weighted round-robin weight follows EDIV's loads") {
    CHECK(load_weight(0) == doctest::Approx(1.0));
    CHECK(load_weight(0.5) == doctest::Approx(0.5));
    CHECK(load_weight(1) == doctest::Approx(1.0 / 3));
    CHECK(load_weight(7) == doctest::Approx(1.0 / 3));  // clamped
    Request request;
    request.hosts = {{"busy", "", 64, 65536, 1.0, 0, 0}, {"idle", "", 64, 65536, 0, 0, 0}};
    request.vms = small_vms(4);
    const Placement p = place_ok(*placer("weighted-round-robin"), request);
    CHECK(spread(request, p) == std::vector<int>{1, 3});
    CHECK(p.assignments[0].reason.find("weighted round-robin: next in turn at load 0.00") == 0);
}

TEST_CASE("placement: first-fit fills only up to its thresholds") {
    Request request;
    request.hosts = {{"h", "", 10, 1000, 0, 0, 0}};
    request.vms = {{"big", 8, 800, "", ""}};
    CHECK(place_ok(*placer("first-fit"), request).assignments[0].host == "h");

    // 0.8 of 1000 MiB is 800: 801 does not fit, though the host has 1000.
    request.vms = {{"big", 1, 801, "", ""}};
    auto over = placer("first-fit")->place(request);
    REQUIRE(over.is_ok());
    REQUIRE(over->unplaced.size() == 1);
    CHECK(over->assignments.empty());
    CHECK(over->unplaced[0].reason ==
          "no host has 1 vcpus / 801 MiB free under thresholds 0.80/0.80");

    // 0.7 of 10 vcpus is 7.
    request.vms = {{"wide", 8, 100, "", ""}};
    CHECK_FALSE(placer("first-fit", {0.7, 0.7})->place(request)->ok());
    request.vms = {{"wide", 7, 700, "", ""}};
    CHECK(placer("first-fit", {0.7, 0.7})->place(request)->ok());
    request.vms = {{"wide", 7, 701, "", ""}};
    CHECK_FALSE(placer("first-fit", {0.7, 0.7})->place(request)->ok());

    // A measured load counts as used CPU: fully loaded, the host takes nothing.
    request.hosts[0].load = 1.0;
    request.vms = {{"one", 1, 10, "", ""}};
    CHECK_FALSE(placer("first-fit")->place(request)->ok());

    CHECK_FALSE(make_placer("first-fit", {0, 0.8}).is_ok());
    CHECK_FALSE(make_placer("first-fit", {0.8, 1.2}).is_ok());
}

TEST_CASE(
    "placement: first-fit takes the host with most free memory, then CPU, with enough of both") {
    Request request;
    request.hosts = {{"small", "", 16, 4000, 0, 0, 0},
                     {"roomy-but-few-cpus", "", 2, 64000, 0, 0, 0},
                     {"large", "", 16, 16000, 0, 0, 0},
                     {"large-more-cpu", "", 32, 16000, 0, 0, 0}};
    // roomy has most memory but 1.6 vcpus under the threshold: a 2-vcpu VM skips it.
    request.vms = {{"a", 2, 1000, "", ""}, {"b", 1, 1000, "", ""}, {"c", 2, 1000, "", ""}};
    const Placement p = place_ok(*placer("first-fit"), request);
    CHECK(p.assignments[0].host == "large-more-cpu");  // ties on memory: more free CPU wins
    CHECK(p.assignments[1].host == "roomy-but-few-cpus");
    CHECK(p.assignments[2].host == "large");  // large-more-cpu has 1000 MiB less free now
    CHECK(p.assignments[0].reason ==
          "first-fit: most free memory with enough CPU (12800 MiB, 25.6 vcpus free under "
          "thresholds 0.80/0.80)");
}

TEST_CASE("placement: a VM larger than any host, and all or nothing") {
    Request request;
    request.hosts = {{"a", "10.0.0.1", 8, 8192, 0, 0, 0}, {"b", "10.0.0.2", 4, 16384, 0, 0, 0}};
    request.vms = {{"ok", 1, 512, "", ""}, {"huge", 16, 1024, "", ""}, {"ok2", 1, 512, "", ""}};
    for (const std::string& name : placer_names()) {
        CAPTURE(name);
        auto placed = placer(name)->place(request);
        REQUIRE(placed.is_ok());
        CHECK(placed->assignments.empty());
        REQUIRE(placed->unplaced.size() == 1);
        CHECK(placed->unplaced[0].vm == "huge");
        CHECK(
            placed->unplaced[0].reason ==
            "needs 16 vcpus / 1024 MiB, more than any host has (the largest: 8 vcpus, 16384 MiB)");
        CHECK(placed->status().message() ==
              "1 VM(s) cannot be placed:\nvm huge: " + placed->unplaced[0].reason);
    }
    auto unknown = make_placer("best-fit");
    REQUIRE_FALSE(unknown.is_ok());
    CHECK(unknown.status().message() ==
          "unknown placement algorithm \"best-fit\" (known: first-fit, round-robin, "
          "weighted-round-robin)");
}

TEST_CASE("placement: no algorithm overcommits a host (random requests)") {
    std::mt19937 rng(42);
    for (const std::string& name : placer_names()) {
        for (int round = 0; round < 20; ++round) {
            CAPTURE(name);
            CAPTURE(round);
            Request request;
            const int hosts = 1 + static_cast<int>(rng() % 20);
            for (int h = 0; h < hosts; ++h)
                request.hosts.push_back({"h" + std::to_string(h), "", 4 + unsigned(rng() % 29),
                                         2048 + rng() % 30000, (rng() % 101) / 100.0,
                                         unsigned(rng() % 3), rng() % 1024});
            const int vms = static_cast<int>(rng() % 120);
            for (int v = 0; v < vms; ++v)
                request.vms.push_back(
                    {"v" + std::to_string(v), 1 + unsigned(rng() % 4), 128 + rng() % 4096, "", ""});
            auto placed = placer(name)->place(request);
            REQUIRE(placed.is_ok());
            if (!placed->ok()) {
                CHECK(placed->assignments.empty());
                continue;
            }
            std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> used;
            for (const auto& h : request.hosts)
                used[h.name] = {h.reserved_vcpus, h.reserved_memory_mib};
            for (std::size_t i = 0; i < request.vms.size(); ++i) {
                used[placed->assignments[i].host].first += request.vms[i].vcpus;
                used[placed->assignments[i].host].second += request.vms[i].memory_mib;
            }
            for (const auto& h : request.hosts) {
                CHECK(used[h.name].first <= h.vcpus);
                CHECK(used[h.name].second <= h.memory_mib);
            }
        }
    }
}
