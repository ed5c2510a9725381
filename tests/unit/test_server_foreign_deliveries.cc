// The rack server's confirmed deliveries for other servers' deployments (foreign_deliveries.h):
// one per receiver and image, the last 4,096, in arrival order, and its index (what the rack
// multicast check of every tick looks up) always the same set as the deliveries it keeps.
#include <doctest/doctest.h>

#include <set>

#include "foreign_deliveries.h"

using provisioner::server::ForeignDeliveries;

namespace {

imaging::Delivery delivery(int host, const std::string& image = "aa") {
    return {"d7h" + std::to_string(host), "multicast", image, "10.0.0.9:7700", 0, 1, 0};
}

// Whether contains() answers, for every receiver and image tried, as a scan of all() does.
void check_index(const ForeignDeliveries& kept, int hosts) {
    const auto all = kept.all();
    std::set<std::pair<std::string, std::string>> scanned;
    for (const auto& d : all) scanned.emplace(d.receiver, d.image_sha256);
    CHECK(scanned.size() == all.size());  // never twice
    for (int h = 0; h < hosts; ++h)
        for (const char* image : {"aa", "bb"}) {
            const auto d = delivery(h, image);
            CHECK(kept.contains(d.receiver, image) == scanned.contains({d.receiver, image}));
        }
}

}  // namespace

TEST_CASE("foreign deliveries: one per receiver and image, the last 4,096, indexed alike") {
    ForeignDeliveries kept;
    CHECK(kept.add(delivery(1)));
    CHECK_FALSE(kept.add(delivery(1)));  // the same receipt again
    CHECK(kept.add(delivery(1, "bb")));  // another image for the same receiver
    CHECK(kept.size() == 2);
    CHECK(kept.contains("d7h1", "aa"));
    CHECK_FALSE(kept.contains("d7h2", "aa"));
    CHECK_FALSE(kept.contains("d7h1", "cc"));

    // Past the capacity the oldest go, from the index too.
    for (int h = 2; h < 5000; ++h) kept.add(delivery(h));
    CHECK(kept.size() == ForeignDeliveries::kCapacity);
    CHECK_FALSE(kept.contains("d7h1", "aa"));
    CHECK_FALSE(kept.contains("d7h1", "bb"));
    CHECK(kept.all().front().receiver == "d7h" + std::to_string(5000 - 4096));
    CHECK(kept.all().back().receiver == "d7h4999");
    check_index(kept, 5001);
    // A receipt that aged out is taken again, as new.
    CHECK(kept.add(delivery(1)));
    CHECK(kept.all().back().receiver == "d7h1");

    // Erased ones leave the index; the others keep their order.
    const std::size_t erased =
        kept.erase_if([](const imaging::Delivery& d) { return d.receiver.back() == '7'; });
    CHECK(erased == 410);
    CHECK(kept.size() == ForeignDeliveries::kCapacity - erased);
    CHECK_FALSE(kept.contains("d7h4997", "aa"));
    CHECK(kept.contains("d7h4998", "aa"));
    CHECK(kept.add(delivery(4997)));
    check_index(kept, 5001);
}
