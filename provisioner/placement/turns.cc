#include "turns.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace provisioner::placement {
namespace {

// Integer weights keep the heap order exact: 60000 is divisible by 1, 2 and 3, so EDIV's
// loads of 0, 50 and 100 % weigh exactly 3:2:1 and ties fall to host order.
constexpr double kWeightScale = 60000;

}  // namespace

double load_weight(double load) {
    return 1.0 / (1.0 + 2.0 * std::clamp(load, 0.0, 1.0));
}

bool TurnsChooser::later(const Turn& a, const Turn& b) {
    // (2ka + 1) / wa  vs  (2kb + 1) / wb, cross-multiplied; both fit in 64 bits for any
    // realistic count (k < 2^40, w <= 60000).
    const std::uint64_t lhs = (2 * a.given + 1) * b.weight;
    const std::uint64_t rhs = (2 * b.given + 1) * a.weight;
    if (lhs != rhs) return lhs > rhs;
    return a.host > b.host;
}

bool TurnsChooser::can_take_any(const Ledger& ledger, int host) const {
    return ledger.fits(host, smallest_);
}

void TurnsChooser::start(const Ledger& ledger, const Demand& smallest) {
    smallest_ = smallest;
    heap_.clear();
    waiting_.clear();
    for (int h = 0; h < ledger.size(); ++h) {
        if (!can_take_any(ledger, h)) continue;
        const std::uint64_t weight =
            weighted_ ? static_cast<std::uint64_t>(
                            std::llround(kWeightScale * load_weight(ledger.host(h).load)))
                      : 1;
        heap_.push_back(Turn{0, weight, h});
    }
    std::make_heap(heap_.begin(), heap_.end(), later);
}

int TurnsChooser::choose(const Ledger& ledger, const Demand& demand,
                         const std::vector<int>& excluded) {
    waiting_.clear();
    int found = -1;
    while (!heap_.empty()) {
        std::pop_heap(heap_.begin(), heap_.end(), later);
        const Turn turn = heap_.back();
        heap_.pop_back();
        if (!can_take_any(ledger, turn.host)) continue;  // full for good
        const bool excluded_here =
            std::find(excluded.begin(), excluded.end(), turn.host) != excluded.end();
        if (!excluded_here && ledger.fits(turn.host, demand)) {
            chosen_ = turn;
            found = turn.host;
            break;
        }
        waiting_.push_back(turn);
    }
    for (const Turn& turn : waiting_) {
        heap_.push_back(turn);
        std::push_heap(heap_.begin(), heap_.end(), later);
    }
    waiting_.clear();
    return found;
}

std::string TurnsChooser::reason(const Ledger& ledger, int host) const {
    if (!weighted_) return "round-robin: next host in turn with room";
    char text[128];
    const double load = std::clamp(ledger.host(host).load, 0.0, 1.0);
    std::snprintf(text, sizeof text,
                  "weighted round-robin: next in turn at load %.2f (weight %.2f, turn %llu)", load,
                  load_weight(load), static_cast<unsigned long long>(chosen_.given + 1));
    return text;
}

void TurnsChooser::placed(const Ledger& ledger, int host) {
    if (host != chosen_.host) return;
    Turn turn = chosen_;
    ++turn.given;
    if (!can_take_any(ledger, host)) return;
    heap_.push_back(turn);
    std::push_heap(heap_.begin(), heap_.end(), later);
}

}  // namespace provisioner::placement
