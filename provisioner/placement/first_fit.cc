#include "first_fit.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace provisioner::placement {

FirstFitChooser::Key FirstFitChooser::key_of(const Ledger& ledger, int host) const {
    const Host& h = ledger.host(host);
    const double load = std::clamp(h.load, 0.0, 1.0);
    const double used_cpu = std::max(static_cast<double>(ledger.used_vcpus(host)), load * h.vcpus);
    return Key{std::floor(static_cast<double>(h.memory_mib) * options_.memory_threshold) -
                   static_cast<double>(ledger.used_memory(host)),
               static_cast<double>(h.vcpus) * options_.cpu_threshold - used_cpu, host};
}

void FirstFitChooser::index(const Ledger& ledger, int host) {
    const Key key = key_of(ledger, host);
    keys_[host] = key;
    bucket_of_[host] = -1;
    if (key.free_cpu < static_cast<double>(smallest_.vcpus) ||
        key.free_memory < static_cast<double>(smallest_.memory_mib))
        return;  // can take none of the remaining units
    const auto bucket = static_cast<std::size_t>(key.free_cpu);
    if (bucket >= buckets_.size()) {
        buckets_.resize(bucket + 1);
        tops_.resize(bucket + 1, Key{0, 0, -1});
    }
    buckets_[bucket].insert(key);
    bucket_of_[host] = static_cast<int>(bucket);
    refresh_top(bucket);
}

void FirstFitChooser::refresh_top(std::size_t bucket) {
    tops_[bucket] = buckets_[bucket].empty() ? Key{0, 0, -1} : *buckets_[bucket].begin();
}

void FirstFitChooser::start(const Ledger& ledger, const Demand& smallest) {
    smallest_ = smallest;
    threshold_text_ = limit_note();
    buckets_.clear();
    tops_.clear();
    keys_.assign(ledger.size(), Key{});
    bucket_of_.assign(ledger.size(), -1);
    for (int h = 0; h < ledger.size(); ++h) index(ledger, h);
}

int FirstFitChooser::choose(const Ledger&, const Demand& demand, const std::vector<int>& excluded) {
    const Key* best = nullptr;
    const MoreFree more_free;
    const auto is_excluded = [&](int host) {
        return std::find(excluded.begin(), excluded.end(), host) != excluded.end();
    };
    const auto memory = static_cast<double>(demand.memory_mib);
    for (std::size_t b = demand.vcpus; b < buckets_.size(); ++b) {
        const Key& top = tops_[b];
        if (top.host < 0 || top.free_memory < memory) continue;
        if (best != nullptr && !more_free(top, *best)) continue;
        if (!is_excluded(top.host)) {
            best = &top;
            continue;
        }
        for (const Key& key : buckets_[b]) {
            if (key.free_memory < memory) break;
            if (is_excluded(key.host)) continue;
            if (best == nullptr || more_free(key, *best)) best = &key;
            break;
        }
    }
    return best == nullptr ? -1 : best->host;
}

std::string FirstFitChooser::reason(const Ledger&, int host) const {
    // Called for every VM placed: integer formatting, not printf's floating point.
    const Key& key = keys_[host];
    const long long tenths = std::llround(key.free_cpu * 10);
    return "first-fit: most free memory with enough CPU (" +
           std::to_string(static_cast<long long>(key.free_memory)) + " MiB, " +
           std::to_string(tenths / 10) + "." + std::to_string(std::llabs(tenths % 10)) +
           " vcpus free" + threshold_text_ + ")";
}

void FirstFitChooser::placed(const Ledger& ledger, int host) {
    if (const int bucket = bucket_of_[host]; bucket >= 0) {
        buckets_[bucket].erase(keys_[host]);
        refresh_top(static_cast<std::size_t>(bucket));
    }
    index(ledger, host);
}

std::string FirstFitChooser::limit_note() const {
    char text[64];
    std::snprintf(text, sizeof text, " under thresholds %.2f/%.2f", options_.cpu_threshold,
                  options_.memory_threshold);
    return text;
}

}  // namespace provisioner::placement
