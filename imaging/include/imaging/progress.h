// The progress line every transport shows on a terminal, and the final JSON line it always prints.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace imaging {

// Thread-safe. Draws "\r<label> 412.0 MiB / 2.0 GiB  20%  153.2 MiB/s  ETA 11s" on stderr at
// most 4 times a second, and only when stderr is a terminal (or force_tty).
class Progress {
public:
    Progress(std::string label, std::uint64_t total_bytes, bool force_tty = false);
    void set_total(std::uint64_t total_bytes);
    void advance(std::uint64_t bytes);
    void set_done(std::uint64_t bytes);
    void finish();  // clears the line
    double seconds() const;

private:
    void draw_locked(bool final);
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

}  // namespace imaging
