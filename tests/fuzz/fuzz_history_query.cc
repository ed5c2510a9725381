// The metrics history's query parameters, as any holder of an operator token (or a page of
// the web UI) sends them: GET /api/v1/{hosts,vms}/X/metrics?since=...&step=..., and the
// --history option's archive list. The input is four lines: since, step, archives, and the
// rest as bytes that place rows in time. What parses is then taken through the archive choice,
// the step and the downsampling, whose arithmetic must hold for any since, step and archive
// (no overflow, no more than kMaxHistoryPoints points).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "history_query.h"
#include "metrics_history.h"

using namespace provisioner::server;

namespace {

std::string_view next_line(std::string_view& text) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    const std::int64_t now = 1'780'000'000;  // a fixed "now": the same result on every run
    const std::string_view since_text = next_line(text);
    const std::string_view step_text = next_line(text);
    const std::string_view archives_text_in = next_line(text);
    (void)parse_duration(since_text);
    auto since = parse_since(since_text, now);
    auto step = parse_step(step_text);
    auto archives = parse_archives(archives_text_in);
    if (archives) {
        // What parses prints back and parses again to the same archives.
        auto again = parse_archives(archives_text(*archives));
        if (!again || *again != *archives) std::abort();
    }
    if (!since || !archives || archives->empty()) return 0;
    if (*since > now) std::abort();  // refused by contract
    const std::size_t chosen = choose_archive(*archives, *since, now);
    if (chosen >= archives->size()) std::abort();
    const ArchiveSpec& archive = (*archives)[chosen];
    const std::int64_t used = effective_step(archive, *since, now, step ? *step : 0);
    if (used < 1) std::abort();
    std::vector<Series> columns(1);
    columns[0].metric = "node_load1";
    std::vector<HistoryRow> rows;
    for (std::size_t i = 0; i + 4 <= text.size() && rows.size() < 64; i += 4) {
        std::uint32_t back = 0;
        for (int b = 0; b < 4; ++b) back = back << 8 | std::uint8_t(text[i + b]);
        HistoryRow row;
        row.bucket = now - std::int64_t(back);
        row.reports = 1;
        row.values = {float(i)};
        rows.push_back(std::move(row));
    }
    HistoryAnswer answer = downsample(columns, archive, rows, *since, now, used);
    if (answer.times.size() > std::size_t(kMaxHistoryPoints) + 1) std::abort();
    if (answer.values.size() != columns.size()) std::abort();
    for (const auto& series : answer.values)
        if (series.size() != answer.times.size()) std::abort();
    return 0;
}
