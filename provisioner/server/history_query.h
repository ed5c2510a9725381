// Reading the metrics history (metrics_history.h) for a graph: the API's since and step
// (GET /api/v1/hosts/{host}/metrics?since=...&step=...), the archive that covers them, and
// the downsampling of its rows to one point per step. Pure functions, so they are tested
// without files or clocks.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "history_file.h"
#include "history_series.h"
#include "provisioner/status.h"

namespace provisioner::server {

// At most this many points per series in one answer: a longer step is used instead.
inline constexpr std::int64_t kMaxHistoryPoints = 4000;
// With no step asked, about this many.
inline constexpr std::int64_t kDefaultHistoryPoints = 240;

// "90s", "15m", "1h", "7d", "2w" as seconds (a positive integer and one unit); invalid_argument
// otherwise, with a message for the API's 400.
Result<std::int64_t> parse_duration(std::string_view text);
// since: a duration ago (parse_duration) or a Unix time in seconds (digits only); now and the
// answer are Unix seconds. A time after now is refused.
Result<std::int64_t> parse_since(std::string_view text, std::int64_t now);
// step: seconds as digits, or a duration ("5m"); at least 1.
Result<std::int64_t> parse_step(std::string_view text);

// The finest archive that still holds since (archives finest first), else the coarsest.
std::size_t choose_archive(const std::vector<ArchiveSpec>& archives, std::int64_t since,
                           std::int64_t now);

struct HistoryAnswer {
    std::int64_t since = 0;  // the first point's time (since rounded down to the step)
    std::int64_t until = 0;  // the end of the last point's step
    std::int64_t step = 0;   // seconds between points: the asked step, at least the archive's
                             // and a multiple of it, longer if there would be too many points
    ArchiveSpec archive;     // the archive read
    std::vector<std::int64_t> times;          // each point's start, Unix seconds
    std::vector<Series> series;               // the columns
    std::vector<std::vector<double>> values;  // [series][point]; NaN: no data
};

// The step to use for [since, now] from archive with the asked step (0: about
// kDefaultHistoryPoints points).
std::int64_t effective_step(const ArchiveSpec& archive, std::int64_t since, std::int64_t now,
                            std::int64_t asked);

// Averages rows (read from archive, oldest first) into points of step seconds from since
// (rounded down to step) to now: a point is the mean of the rows whose bucket starts within it;
// a point without rows, or whose rows have no value for a series, is NaN for it.
HistoryAnswer downsample(const std::vector<Series>& columns, const ArchiveSpec& archive,
                         const std::vector<HistoryRow>& rows, std::int64_t since, std::int64_t now,
                         std::int64_t step);

}  // namespace provisioner::server
