// The vocabulary of the metrics history (metrics_history.h): a series is a metric name with
// labels, as Prometheus names it ("node_cpu_seconds_total", {"mode": "user"}), and a kind that
// says what the history keeps of it: a gauge as reported, a counter as its rate per second.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace provisioner::server {

using Labels = std::vector<std::pair<std::string, std::string>>;

// gauge: kept as reported. counter: kept as its per-second rate between two reports (the
// history never holds a counter's raw value; a counter that goes down is a reset and gives no
// rate for that report).
enum class SeriesKind : std::uint8_t { gauge = 0, counter = 1 };
const char* to_string(SeriesKind kind);  // "gauge", "rate"

struct Series {
    std::string metric;
    Labels labels;  // in the order the mapping writes them
    SeriesKind kind = SeriesKind::gauge;
    // Identity is the metric and its labels; the kind comes with them.
    bool same(const Series& other) const {
        return metric == other.metric && labels == other.labels;
    }
};

// `metric{k="v",...}` (Prometheus' notation), for messages and the CLI.
std::string display_name(const Series& series);

struct Sample {
    Series series;
    double value = 0;
};

// What the history is kept for: a host (by its inventory id, which a rename keeps) or a VM (by
// its name in the site).
enum class EntityKind : std::uint8_t { host, vm };

struct Entity {
    EntityKind kind = EntityKind::host;
    std::string name;  // a host's id in decimal, a VM's name
    auto operator<=>(const Entity&) const = default;
};

}  // namespace provisioner::server
