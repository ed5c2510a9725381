// Round-robin and EDIV's weighted round-robin, as stride scheduling: every host has a weight;
// the host to serve next is the one with the smallest virtual time (2k + 1) / (2 * weight),
// where k is how many units it has been given. With equal weights that is plain round-robin in
// host order; with weights it spreads each host's turns evenly (smooth weighted round-robin),
// and a heap makes each turn O(log hosts). A host without room for the unit at hand keeps its
// turn for the next unit; one without room for the smallest remaining unit leaves the heap.
#pragma once

#include <cstdint>
#include <vector>

#include "chooser.h"

namespace provisioner::placement {

class TurnsChooser : public Chooser {
  public:
    // weighted = false: every host weighs the same (round-robin).
    explicit TurnsChooser(bool weighted) : weighted_(weighted) {}

    void start(const Ledger& ledger, const Demand& smallest) override;
    int choose(const Ledger& ledger, const Demand& demand,
               const std::vector<int>& excluded) override;
    std::string reason(const Ledger& ledger, int host) const override;
    void placed(const Ledger& ledger, int host) override;

  private:
    struct Turn {
        std::uint64_t given;   // k
        std::uint64_t weight;  // > 0
        int host;
    };
    // Heap order: true when a is served after b.
    static bool later(const Turn& a, const Turn& b);
    bool can_take_any(const Ledger& ledger, int host) const;

    bool weighted_;
    Demand smallest_;
    std::vector<Turn> heap_;
    std::vector<Turn> waiting_;  // popped for this unit, to go back once it is placed
    Turn chosen_{};
};

}  // namespace provisioner::placement
