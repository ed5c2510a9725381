// `deployment watch` on a terminal: one progress bar per host, redrawn in place.
//   deployment 3  dom0@2  multicast  running  1 of 3 succeeded, 0 failed
//   h1  [############------------]  50%  running    1.0 GiB / 2.0 GiB  12.3 MiB/s
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace provisioner::cli {

// One deployment target as the watch shows it.
struct TargetProgress {
    std::string name;
    std::string state;
    std::uint64_t bytes_done = 0;
    std::uint64_t bytes_total = 0;
    double rate = 0;    // bytes per second; not shown when 0
    std::string error;  // shown for a failed target
};

// Reads a target object of the API's Deployment (rate left 0).
TargetProgress target_progress(const nlohmann::json& target);

// "[#####-----]" with width characters between the brackets; fraction is clamped to [0, 1].
std::string render_bar(double fraction, std::size_t width);

// One host's line, its name padded to name_width. A succeeded target shows a full bar even
// when its byte counts were never reported.
std::string render_target_line(const TargetProgress& target, std::size_t name_width,
                               std::size_t bar_width);

// text cut to at most columns code points (0: no limit), so that no line wraps and the
// cursor-up count of the next redraw stays right.
std::string fit_to_width(const std::string& text, std::size_t columns);

// Turns successive frames (lines without '\n') into what to write so that each frame replaces
// the previous one: cursor up over the old frame, each line cleared to its end, and anything
// below a shorter frame cleared.
class TtyRedraw {
  public:
    std::string frame(const std::vector<std::string>& lines);

  private:
    std::size_t previous_lines_ = 0;
};

}  // namespace provisioner::cli
