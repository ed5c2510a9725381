// SO-MVDS's ChooseDestination (Algorithm 2) over free capacity under thresholds (Algorithm 1).
//
// Free CPU = vcpus * T_cpu - used, where used is the larger of the vcpus given out and the
// measured load * vcpus; free memory = memory * T_mem - memory given out. The paper sorts the
// hosts by free memory then free CPU, descending, and takes the first with enough of both.
// Instead of sorting for every VM, hosts sit in buckets by whole free vcpus, each bucket
// ordered by (free memory, free CPU) descending: a VM needing c vcpus looks at the top of each
// bucket >= c, so a choice costs O(buckets + log hosts) instead of O(hosts log hosts).
// The paper compares with '>'; a host with exactly enough room is taken here ("enough").
#pragma once

#include <set>

#include "chooser.h"
#include "provisioner/placement.h"

namespace provisioner::placement {

class FirstFitChooser : public Chooser {
  public:
    explicit FirstFitChooser(const Options& options) : options_(options) {}

    void start(const Ledger& ledger, const Demand& smallest) override;
    int choose(const Ledger& ledger, const Demand& demand,
               const std::vector<int>& excluded) override;
    std::string reason(const Ledger& ledger, int host) const override;
    void placed(const Ledger& ledger, int host) override;
    std::string limit_note() const override;

  private:
    struct Key {
        double free_memory;
        double free_cpu;
        int host;
    };
    struct MoreFree {
        bool operator()(const Key& a, const Key& b) const {
            if (a.free_memory != b.free_memory) return a.free_memory > b.free_memory;
            if (a.free_cpu != b.free_cpu) return a.free_cpu > b.free_cpu;
            return a.host < b.host;
        }
    };

    Key key_of(const Ledger& ledger, int host) const;
    void index(const Ledger& ledger, int host);
    void refresh_top(std::size_t bucket);

    Options options_;
    std::vector<std::set<Key, MoreFree>> buckets_;  // by floor(free_cpu)
    // Each bucket's first key (host -1 when empty), side by side: a choice reads this array,
    // not one tree node per bucket.
    std::vector<Key> tops_;
    std::vector<Key> keys_;       // each host's key, as indexed
    std::vector<int> bucket_of_;  // -1: not indexed (no room for anything)
    Demand smallest_;
    std::string threshold_text_;  // limit_note(), made once
};

}  // namespace provisioner::placement
