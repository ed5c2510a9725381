// How `host metrics` and `vm metrics` print the history API's answer (API.md "Metrics
// history"): on a terminal one line per series, a small graph of block characters and its
// minimum, maximum and last value; elsewhere plain numbers, one "SERIES TIME VALUE" line per
// point with data, for scripts and pipes.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace provisioner::cli {

// values (NaN: no data) as width block characters ("▁".."█", a space where a column has no
// data), scaled from min to max; each column averages the values that fall in it.
std::string render_sparkline(const std::vector<double>& values, std::size_t width);

// A series' value for people: bytes in binary units (metric names ending in "_bytes" or
// "_bytes_total"), "/s" after a rate, else up to 3 significant digits.
std::string format_metric_value(const std::string& metric, bool rate, double value);

// `metric{k="v",...}` of one series of the answer.
std::string series_label(const nlohmann::json& series);

// The terminal form of answer, lines fitting columns (0: 100); only the series whose label
// contains match (all when empty).
std::string render_metrics_graphs(const nlohmann::json& answer, std::size_t columns,
                                  const std::string& match);
// The plain form: "SERIES UNIX_TIME VALUE" lines (values as JSON writes them).
std::string render_metrics_plain(const nlohmann::json& answer, const std::string& match);

}  // namespace provisioner::cli
