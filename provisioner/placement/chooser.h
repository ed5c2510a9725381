// The part of a placement algorithm that differs between algorithms: which host next.
// The engine (engine.h) does pins, stays, constraints and bookkeeping around it.
#pragma once

#include <string>
#include <vector>

#include "ledger.h"

namespace provisioner::placement {

class Chooser {
  public:
    virtual ~Chooser() = default;
    // Called once, after pinned and staying units are in the ledger. `smallest` is, per
    // dimension, the least demand of the units still to place: a host with less free than
    // that can take none of them.
    virtual void start(const Ledger& ledger, const Demand& smallest) = 0;
    // A host for `demand` that is not in `excluded` (small, unsorted), or -1. Does not change
    // the ledger; after a host is returned, the engine calls reason() then placed().
    virtual int choose(const Ledger& ledger, const Demand& demand,
                       const std::vector<int>& excluded) = 0;
    // One line on why `host` was chosen, before the demand is added to it.
    virtual std::string reason(const Ledger& ledger, int host) const = 0;
    // The demand is now in the ledger on `host`.
    virtual void placed(const Ledger& ledger, int host) = 0;
    // Appended to the reason of a unit that fits nowhere ("under thresholds 0.8/0.8").
    virtual std::string limit_note() const { return ""; }
};

}  // namespace provisioner::placement
