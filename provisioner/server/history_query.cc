#include "history_query.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <string>

namespace provisioner::server {

namespace {

Status bad(const std::string& message) {
    return Status::error(Code::invalid_argument, message);
}

bool all_digits(std::string_view text) {
    return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

Result<std::int64_t> parse_digits(std::string_view text) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size()) return bad("number out of range");
    return v;
}

}  // namespace

Result<std::int64_t> parse_duration(std::string_view text) {
    const std::string what = "'" + std::string(text) +
                             "' is not a duration: want a positive number and a unit, as 90s, "
                             "15m, 1h, 7d or 2w";
    if (text.size() < 2 || !all_digits(text.substr(0, text.size() - 1))) return bad(what);
    std::int64_t unit = 0;
    switch (text.back()) {
        case 's':
            unit = 1;
            break;
        case 'm':
            unit = 60;
            break;
        case 'h':
            unit = 3600;
            break;
        case 'd':
            unit = 86400;
            break;
        case 'w':
            unit = 7 * 86400;
            break;
        default:
            return bad(what);
    }
    auto n = parse_digits(text.substr(0, text.size() - 1));
    // Beyond ten years nothing is kept anyway; the bound keeps the product in range.
    if (!n || *n <= 0 || *n > 10 * 366 * 86400 / unit) return bad(what);
    return *n * unit;
}

Result<std::int64_t> parse_since(std::string_view text, std::int64_t now) {
    if (all_digits(text)) {
        auto t = parse_digits(text);
        if (!t) return bad("since: '" + std::string(text) + "' is out of range");
        if (*t > now) return bad("since: " + std::string(text) + " is in the future");
        return *t;
    }
    auto d = parse_duration(text);
    if (!d) return bad("since: " + d.status().message() + ", or a Unix time in seconds");
    return now - *d;
}

Result<std::int64_t> parse_step(std::string_view text) {
    if (all_digits(text)) {
        auto s = parse_digits(text);
        if (!s || *s < 1 || *s > 10 * 366 * 86400)
            return bad("step: '" + std::string(text) + "' must be 1 second to 10 years");
        return *s;
    }
    auto d = parse_duration(text);
    if (!d) return bad("step: " + d.status().message() + ", or seconds");
    return *d;
}

std::size_t choose_archive(const std::vector<ArchiveSpec>& archives, std::int64_t since,
                           std::int64_t now) {
    for (std::size_t i = 0; i < archives.size(); ++i)
        if (now - since <= archives[i].retention_seconds()) return i;
    return archives.empty() ? 0 : archives.size() - 1;
}

std::int64_t effective_step(const ArchiveSpec& archive, std::int64_t since, std::int64_t now,
                            std::int64_t asked) {
    const std::int64_t base = archive.step_seconds;
    const std::int64_t span = std::max<std::int64_t>(now - since, 1);
    std::int64_t step =
        asked > 0 ? asked : (span + kDefaultHistoryPoints - 1) / kDefaultHistoryPoints;
    step = std::max(step, (span + kMaxHistoryPoints - 1) / kMaxHistoryPoints);
    step = std::max(step, base);
    return (step + base - 1) / base * base;
}

HistoryAnswer downsample(const std::vector<Series>& columns, const ArchiveSpec& archive,
                         const std::vector<HistoryRow>& rows, std::int64_t since, std::int64_t now,
                         std::int64_t step) {
    HistoryAnswer answer;
    answer.archive = archive;
    answer.step = step;
    answer.series = columns;
    answer.since = since / step * step;
    const std::int64_t points = now < answer.since ? 0 : (now - answer.since) / step + 1;
    answer.until = answer.since + points * step;
    for (std::int64_t i = 0; i < points; ++i) answer.times.push_back(answer.since + i * step);
    std::vector<std::vector<double>> sums(columns.size(), std::vector<double>(points, 0));
    std::vector<std::vector<int>> counts(columns.size(), std::vector<int>(points, 0));
    for (const HistoryRow& row : rows) {
        const std::int64_t start = row.bucket * archive.step_seconds;
        if (start < answer.since || start >= answer.until) continue;
        const std::int64_t point = (start - answer.since) / step;
        for (std::size_t c = 0; c < columns.size() && c < row.values.size(); ++c) {
            if (std::isnan(row.values[c])) continue;
            sums[c][point] += row.values[c];
            ++counts[c][point];
        }
    }
    answer.values.assign(columns.size(), {});
    for (std::size_t c = 0; c < columns.size(); ++c) {
        answer.values[c].resize(points);
        for (std::int64_t p = 0; p < points; ++p)
            answer.values[c][p] =
                counts[c][p] ? sums[c][p] / counts[c][p] : std::numeric_limits<double>::quiet_NaN();
    }
    return answer;
}

}  // namespace provisioner::server
