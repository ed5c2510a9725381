#include "progress_view.h"

#include <algorithm>
#include <cstdio>

#include "imaging/progress.h"
#include "output/format.h"
#include "output/table.h"

namespace provisioner::cli {
namespace {

constexpr std::size_t kStateWidth = 9;  // "succeeded"

std::string pad(std::string text, std::size_t width) {
    std::size_t w = display_width(text);
    if (w < width) text += std::string(width - w, ' ');
    return text;
}

}  // namespace

TargetProgress target_progress(const nlohmann::json& target) {
    TargetProgress p;
    p.name = text(field(target, "name"));
    if (p.name == "-") p.name = text(field(target, "mac"));
    p.state = text(field(target, "state"));
    p.bytes_done = count(field(target, "bytes_done"));
    p.bytes_total = count(field(target, "bytes_total"));
    if (field(target, "error").is_string()) p.error = field(target, "error").get<std::string>();
    return p;
}

std::string render_bar(double fraction, std::size_t width) {
    fraction = std::clamp(fraction, 0.0, 1.0);
    auto filled = static_cast<std::size_t>(fraction * double(width));
    return "[" + std::string(filled, '#') + std::string(width - filled, '-') + "]";
}

std::string render_target_line(const TargetProgress& target, std::size_t name_width,
                               std::size_t bar_width) {
    double fraction = 0;
    if (target.bytes_total > 0) fraction = double(target.bytes_done) / double(target.bytes_total);
    if (target.state == "succeeded") fraction = 1;
    fraction = std::clamp(fraction, 0.0, 1.0);
    char percent[8];
    std::snprintf(percent, sizeof percent, "%3d%%", static_cast<int>(fraction * 100));

    std::string line = pad(target.name, name_width) + "  " + render_bar(fraction, bar_width) +
                       "  " + percent + "  " + pad(target.state, kStateWidth);
    if (target.bytes_total > 0) {
        line += "  " + imaging::human_bytes(double(target.bytes_done)) + " / " +
                imaging::human_bytes(double(target.bytes_total));
    }
    if (target.state == "running" && target.rate > 0) {
        line += "  " + imaging::human_bytes(target.rate) + "/s";
    }
    if (target.state == "failed" && !target.error.empty()) line += "  " + target.error;
    line.erase(line.find_last_not_of(' ') + 1);
    return line;
}

std::string fit_to_width(const std::string& text, std::size_t columns) {
    if (columns == 0 || display_width(text) <= columns) return text;
    std::size_t points = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
        if (points == columns) return text.substr(0, i);
        ++points;
    }
    return text;
}

std::string TtyRedraw::frame(const std::vector<std::string>& lines) {
    std::string out;
    if (previous_lines_ > 0) out += "\033[" + std::to_string(previous_lines_) + "A";
    for (const auto& line : lines) out += "\r" + line + "\033[K\n";
    if (lines.size() < previous_lines_) out += "\033[J";
    previous_lines_ = lines.size();
    return out;
}

}  // namespace provisioner::cli
