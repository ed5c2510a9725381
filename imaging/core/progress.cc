#include "imaging/progress.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace imaging {

std::string human_bytes(double bytes) {
    static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) bytes /= 1024, ++u;
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, kUnits[u]);
    return buf;
}

Progress::Progress(std::string label, std::uint64_t total_bytes, bool force_tty)
    : label_(std::move(label)),
      total_(total_bytes),
      tty_(force_tty || ::isatty(STDERR_FILENO)),
      start_(std::chrono::steady_clock::now()) {}

void Progress::emit_json_lines(std::ostream& out) {
    std::lock_guard lock(mu_);
    json_out_ = &out;
}

void Progress::set_total(std::uint64_t total_bytes) {
    std::lock_guard lock(mu_);
    total_ = total_bytes;
}

void Progress::advance(std::uint64_t bytes) {
    std::lock_guard lock(mu_);
    done_ += bytes;
    draw_locked(false);
    emit_json_locked(false);
}

void Progress::set_done(std::uint64_t bytes) {
    std::lock_guard lock(mu_);
    done_ = bytes;
    draw_locked(false);
    emit_json_locked(false);
}

void Progress::finish() {
    std::lock_guard lock(mu_);
    emit_json_locked(true);
    finished_ = true;
    if (tty_ && last_draw_ != std::chrono::steady_clock::time_point{})
        std::fputs("\r\033[K", stderr);
}

double Progress::seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::draw_locked(bool final) {
    if (!tty_) return;
    auto now = std::chrono::steady_clock::now();
    if (!final && now - last_draw_ < std::chrono::milliseconds(250)) return;
    last_draw_ = now;
    double secs = std::chrono::duration<double>(now - start_).count();
    double rate = secs > 0 ? double(done_) / secs : 0;
    int pct = total_ ? int(100.0 * double(done_) / double(total_)) : 0;
    std::string eta = "--";
    if (rate > 0 && total_ > done_) eta = std::to_string(int((total_ - done_) / rate)) + "s";
    std::fprintf(stderr, "\r\033[K%s %s / %s  %3d%%  %s/s  ETA %s", label_.c_str(),
                 human_bytes(double(done_)).c_str(), human_bytes(double(total_)).c_str(), pct,
                 human_bytes(rate).c_str(), eta.c_str());
    std::fflush(stderr);
}

void Progress::emit_json_locked(bool final) {
    if (!json_out_ || finished_) return;
    auto now = std::chrono::steady_clock::now();
    if (!final && last_json_ != std::chrono::steady_clock::time_point{} &&
        now - last_json_ < std::chrono::seconds(1))
        return;
    last_json_ = now;
    *json_out_ << progress_json_line(done_, total_) << std::endl;
}

std::string progress_json_line(std::uint64_t bytes_done, std::uint64_t bytes_total) {
    nlohmann::json line{{"progress", {{"bytes_done", bytes_done}, {"bytes_total", bytes_total}}}};
    return line.dump();
}

void print_result_line(const nlohmann::json& result) {
    std::cout << result.dump() << std::endl;
}

}  // namespace imaging
