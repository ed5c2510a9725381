// The progress line every transport shows on a terminal, and the final JSON line it always prints.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

namespace imaging {

// Thread-safe. Draws "\r<label> 412.0 MiB / 2.0 GiB  20%  153.2 MiB/s  ETA 11s" on stderr at
// most 4 times a second, and only when stderr is a terminal (or force_tty).
//
// With emit_json_lines(out) it also writes, at most once a second, one compact line
// {"progress":{"bytes_done":N,"bytes_total":M}} to out (what `imaging receive --progress-json`
// prints on stdout for provisioner-agent), plus a last one from finish(); nothing after finish(),
// so these lines always come before the transport's final result line.
class Progress {
  public:
    Progress(std::string label, std::uint64_t total_bytes, bool force_tty = false);
    // out must outlive this Progress; call before the transfer starts.
    void emit_json_lines(std::ostream& out);
    void set_total(std::uint64_t total_bytes);
    void advance(std::uint64_t bytes);
    void set_done(std::uint64_t bytes);
    void finish();  // clears the line; emits the last JSON line, and no more after it
    double seconds() const;

  private:
    void draw_locked(bool final);
    void emit_json_locked(bool final);
    std::ostream* json_out_ = nullptr;
    bool finished_ = false;
    std::chrono::steady_clock::time_point last_json_{};
    std::mutex mu_;
    std::string label_;
    std::uint64_t total_;
    std::uint64_t done_ = 0;
    bool tty_;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point last_draw_{};
};

std::string human_bytes(double bytes);

// Prints one line of compact JSON on stdout and flushes: what scripts and the agent read.
void print_result_line(const nlohmann::json& result);

// The progress line emit_json_lines writes, without its newline.
std::string progress_json_line(std::uint64_t bytes_done, std::uint64_t bytes_total);

}  // namespace imaging
