// Series and options shared by the metrics history tests (test_server_history*.cc).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>

#include "history_series.h"
#include "metrics_history.h"

namespace historytest {

inline provisioner::server::Series gauge(const std::string& name,
                                         provisioner::server::Labels labels = {}) {
    return {name, std::move(labels), provisioner::server::SeriesKind::gauge};
}
inline provisioner::server::Series counter(const std::string& name,
                                           provisioner::server::Labels labels = {}) {
    return {name, std::move(labels), provisioner::server::SeriesKind::counter};
}

// A small history: 10 s for 1 min, 60 s for 10 min.
inline provisioner::server::HistoryOptions small(const std::filesystem::path& dir) {
    provisioner::server::HistoryOptions o;
    o.dir = dir;
    o.archives = {{10, 6}, {60, 10}};
    return o;
}

// A multiple of 600: every archive's buckets start here.
inline constexpr std::int64_t kT0 = 1'800'000'000;

}  // namespace historytest
