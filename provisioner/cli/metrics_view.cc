#include "metrics_view.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "output/format.h"
#include "output/table.h"

namespace provisioner::cli {

namespace {

constexpr const char* kBlocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};

std::vector<double> values_of(const nlohmann::json& series) {
    std::vector<double> out;
    for (const auto& v : field(series, "values"))
        out.push_back(v.is_number() ? v.get<double>() : std::numeric_limits<double>::quiet_NaN());
    return out;
}

std::string pad(const std::string& text, std::size_t width) {
    const std::size_t w = display_width(text);
    return w >= width ? text : text + std::string(width - w, ' ');
}

}  // namespace

std::string render_sparkline(const std::vector<double>& values, std::size_t width) {
    if (width == 0) return "";
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (double v : values)
        if (!std::isnan(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    std::string out;
    const std::size_t n = values.size();
    const std::size_t columns = std::min(width, std::max<std::size_t>(n, 1));
    for (std::size_t c = 0; c < columns; ++c) {
        // Column c averages values [c*n/columns, (c+1)*n/columns).
        double sum = 0;
        int count = 0;
        for (std::size_t i = c * n / columns; i < (c + 1) * n / columns; ++i)
            if (!std::isnan(values[i])) sum += values[i], ++count;
        if (count == 0) {
            out += ' ';
            continue;
        }
        const double v = sum / count;
        const int level = hi > lo ? int(std::lround((v - lo) / (hi - lo) * 7)) : 0;
        out += kBlocks[std::clamp(level, 0, 7)];
    }
    return out;
}

std::string format_metric_value(const std::string& metric, bool rate, double value) {
    if (std::isnan(value)) return "-";
    const bool bytes = metric.ends_with("_bytes") || metric.ends_with("_bytes_total");
    std::string out;
    if (bytes && value >= 0) {
        out = format_bytes(nlohmann::json(std::uint64_t(std::llround(value))));
    } else {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3g", value);
        out = buf;
    }
    return rate ? out + "/s" : out;
}

std::string series_label(const nlohmann::json& series) {
    std::string out = text(field(series, "name"));
    const auto& labels = field(series, "labels");
    if (!labels.is_object() || labels.empty()) return out;
    out += "{";
    bool first = true;
    for (const auto& [k, v] : labels.items()) {
        if (!first) out += ",";
        first = false;
        out += k + "=\"" + text(v) + "\"";
    }
    return out + "}";
}

std::string render_metrics_graphs(const nlohmann::json& answer, std::size_t columns,
                                  const std::string& match) {
    if (columns == 0) columns = 100;
    std::vector<const nlohmann::json*> shown;
    std::size_t name_width = 0;
    for (const auto& series : field(answer, "series")) {
        const std::string label = series_label(series);
        if (!match.empty() && label.find(match) == std::string::npos) continue;
        shown.push_back(&series);
        name_width = std::max(name_width, display_width(label));
    }
    name_width = std::min<std::size_t>(name_width, 48);
    const auto& times = field(answer, "times");
    std::string out;
    const std::string span =
        times.empty() ? "no points"
                      : format_time(times.front().get<std::int64_t>() * 1000) + " to " +
                            format_time(field(answer, "until").get<std::int64_t>() * 1000);
    out += span + " UTC, a point every " + text(field(answer, "step")) + " s (" +
           std::to_string(times.size()) + " points)\n";
    // name, graph, then "min X  max X  last X" in about 40 columns.
    const std::size_t stats = 42;
    const std::size_t graph =
        columns > name_width + stats + 4 ? columns - name_width - stats - 4 : 10;
    for (const nlohmann::json* series : shown) {
        const std::vector<double> values = values_of(*series);
        const std::string metric = text(field(*series, "name"));
        const bool rate = field(*series, "kind") == "rate";
        double lo = std::numeric_limits<double>::quiet_NaN(), hi = lo, last = lo;
        for (double v : values) {
            if (std::isnan(v)) continue;
            lo = std::isnan(lo) ? v : std::min(lo, v);
            hi = std::isnan(hi) ? v : std::max(hi, v);
            last = v;
        }
        std::string label = series_label(*series);
        if (display_width(label) > name_width) label = label.substr(0, name_width);
        out += pad(label, name_width) + "  " + pad(render_sparkline(values, graph), graph) +
               "  min " + format_metric_value(metric, rate, lo) + "  max " +
               format_metric_value(metric, rate, hi) + "  last " +
               format_metric_value(metric, rate, last) + "\n";
    }
    if (shown.empty())
        out += "no series" + (match.empty() ? "" : " matching '" + match + "'") + "\n";
    return out;
}

std::string render_metrics_plain(const nlohmann::json& answer, const std::string& match) {
    std::string out;
    const auto& times = field(answer, "times");
    for (const auto& series : field(answer, "series")) {
        const std::string label = series_label(series);
        if (!match.empty() && label.find(match) == std::string::npos) continue;
        const auto& values = field(series, "values");
        for (std::size_t i = 0; i < values.size() && i < times.size(); ++i) {
            if (!values[i].is_number()) continue;
            out += label + " " + times[i].dump() + " " + values[i].dump() + "\n";
        }
    }
    return out;
}

}  // namespace provisioner::cli
