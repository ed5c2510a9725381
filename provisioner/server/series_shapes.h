// The series of the history's reports (history_series.h), built once per shape: every report
// of the same shape (the same CPU modes, mount point and network devices of a host; the same
// weight parameter, disks, interfaces and counters present of a VM) shares one vector of
// series, so a report allocates only its values, and the history's writer tells an unchanged
// shape by its pointer, with no name compared. At 10,000 hosts of 20 VMs the series built per
// report were most of the server's allocations (a metric name and labels per sample, freed on
// another thread).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "history_series.h"

namespace provisioner::server {

// A report's samples as the history takes them: series[i]'s value is values[i].
struct SampleSet {
    std::shared_ptr<const std::vector<Series>> series;
    std::vector<double> values;
    std::size_t size() const { return values.size(); }
};

// Builds SampleSets. Thread-safe. Holds at most kMaxShapes shapes (about 40 at a site whose
// hosts and VMs look alike); past them, each report beyond builds its own series.
class SeriesShapes {
  public:
    static constexpr std::size_t kMaxShapes = 4096;

    // walk(emit) calls emit(id, kind, metric, value, label_key, label_value) once per sample,
    // in a fixed order; id (below 256) tells the call sites of one walk apart, metric and
    // label_key are literals, label_key is empty for a sample with no label. A walk must give
    // its samples in the same order for the same ids and label values.
    template <class Walk>
    SampleSet build(char walk_name, std::size_t expected, Walk&& walk);

    // series as one shared copy, by their names and kinds: for series not built by build().
    std::shared_ptr<const std::vector<Series>> intern(std::vector<Series> series);

    std::size_t size() const;

  private:
    std::shared_ptr<const std::vector<Series>> find(std::string_view key) const;
    std::shared_ptr<const std::vector<Series>> keep(std::string_view key,
                                                   std::vector<Series> series);

    mutable std::mutex mu_;
    std::map<std::string, std::shared_ptr<const std::vector<Series>>, std::less<>> shapes_;
};

template <class Walk>
SampleSet SeriesShapes::build(char walk_name, std::size_t expected, Walk&& walk) {
    // The shape's key: the walk, then each sample's id and label value (length-prefixed).
    thread_local std::string key;
    key.clear();
    key += walk_name;
    SampleSet out;
    out.values.reserve(expected);
    walk([&](std::uint8_t id, SeriesKind, const char*, double value, std::string_view label_key,
             std::string_view label_value) {
        key += char(id);
        if (!label_key.empty()) {
            const std::uint32_t n = std::uint32_t(label_value.size());
            key.append(reinterpret_cast<const char*>(&n), sizeof n);
            key += label_value;
        }
        out.values.push_back(value);
    });
    out.series = find(key);
    if (out.series) return out;
    std::vector<Series> series;
    series.reserve(out.values.size());
    walk([&](std::uint8_t, SeriesKind kind, const char* metric, double,
             std::string_view label_key, std::string_view label_value) {
        Labels labels;
        if (!label_key.empty()) labels.emplace_back(std::string(label_key), std::string(label_value));
        series.push_back({metric, std::move(labels), kind});
    });
    out.series = keep(key, std::move(series));
    return out;
}

}  // namespace provisioner::server
