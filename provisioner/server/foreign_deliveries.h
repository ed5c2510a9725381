// The deliveries a rack server's own senders confirmed to hosts of deployments another server
// owns (Orchestrator::foreign_deliveries(), for their owners to read through the store): the
// last kCapacity of them, one per receiver and image, oldest first, and indexed by receiver
// and image, so that the rack multicast check of every tick (is this host's copy delivered?)
// and the check for a repeat at arrival are lookups, not scans of up to kCapacity entries.
//
// Not thread-safe: the orchestrator's mutex guards it.
#pragma once

#include <cstddef>
#include <deque>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "imaging/delivery.h"

namespace provisioner::server {

class ForeignDeliveries {
  public:
    static constexpr std::size_t kCapacity = 4096;

    // Keeps d unless one for its receiver and image is kept already (then false); past
    // kCapacity the oldest goes.
    bool add(const imaging::Delivery& d) {
        if (!index_.emplace(d.receiver, d.image_sha256).second) return false;
        order_.push_back(d);
        if (order_.size() > kCapacity) {
            index_.erase({order_.front().receiver, order_.front().image_sha256});
            order_.pop_front();
        }
        return true;
    }

    bool contains(const std::string& receiver, const std::string& image_sha256) const {
        return index_.contains({receiver, image_sha256});
    }

    // Forgets those for which drop(delivery) is true; how many.
    template <typename Predicate>
    std::size_t erase_if(Predicate drop) {
        const std::size_t before = order_.size();
        std::erase_if(order_, [&](const imaging::Delivery& d) {
            if (!drop(d)) return false;
            index_.erase({d.receiver, d.image_sha256});
            return true;
        });
        return before - order_.size();
    }

    std::vector<imaging::Delivery> all() const { return {order_.begin(), order_.end()}; }
    std::size_t size() const { return order_.size(); }

  private:
    std::deque<imaging::Delivery> order_;                  // oldest first
    std::set<std::pair<std::string, std::string>> index_;  // (receiver, image_sha256) of order_
};

}  // namespace provisioner::server
