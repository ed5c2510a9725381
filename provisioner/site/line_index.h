// Byte offset -> line number, for messages about a file that a parser saw as one buffer.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace provisioner::site {

class LineIndex {
  public:
    explicit LineIndex(std::string_view text);
    // 1-based line holding byte `offset`; offsets past the end count as the last line.
    std::size_t line_of(std::ptrdiff_t offset) const;

  private:
    std::vector<std::size_t> line_starts_;  // offset of the first byte of each line
};

}  // namespace provisioner::site
