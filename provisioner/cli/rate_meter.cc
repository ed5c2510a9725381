#include "rate_meter.h"

namespace provisioner::cli {

void RateMeter::sample(const std::string& key, Clock::time_point now, std::uint64_t bytes_done) {
    auto& samples = samples_[key];
    if (!samples.empty() && bytes_done < samples.back().bytes) samples.clear();
    samples.push_back({now, bytes_done});
    // Keep one sample older than the window so the rate always spans the whole window.
    while (samples.size() > 2 && now - samples[1].time >= window_) samples.pop_front();
}

double RateMeter::rate(const std::string& key) const {
    auto it = samples_.find(key);
    if (it == samples_.end() || it->second.size() < 2) return 0;
    const auto& first = it->second.front();
    const auto& last = it->second.back();
    double seconds = std::chrono::duration<double>(last.time - first.time).count();
    if (seconds < 0.5) return 0;
    return double(last.bytes - first.bytes) / seconds;
}

}  // namespace provisioner::cli
