#include "line_index.h"

#include <algorithm>

namespace provisioner::site {

LineIndex::LineIndex(std::string_view text) {
    line_starts_.push_back(0);
    for (std::size_t i = 0; i < text.size(); ++i)
        if (text[i] == '\n') line_starts_.push_back(i + 1);
}

std::size_t LineIndex::line_of(std::ptrdiff_t offset) const {
    if (offset < 0) return 0;
    const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(),
                                     static_cast<std::size_t>(offset));
    return static_cast<std::size_t>(it - line_starts_.begin());
}

}  // namespace provisioner::site
