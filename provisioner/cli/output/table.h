// Aligned plain-text tables for the CLI's list commands:
//   NAME  MAC                IP
//   h1    52:54:00:00:00:01  10.77.0.11
// Columns are separated by two spaces; the last column is not padded, so no line ends in
// blanks. Widths count UTF-8 code points, not bytes.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace provisioner::cli {

class Table {
  public:
    explicit Table(std::vector<std::string> headers);

    // Missing trailing cells are blank; cells beyond the header count are dropped.
    void add_row(std::vector<std::string> cells);
    // Numbers read better right-aligned.
    void align_right(std::size_t column);
    // For output that arrives in batches (events --follow): every batch keeps the same columns
    // as long as its cells fit.
    void set_min_width(std::size_t column, std::size_t width);

    bool empty() const { return rows_.empty(); }
    std::size_t size() const { return rows_.size(); }
    // Every line ends in '\n'; an empty table renders only its header (or nothing without it).
    std::string render(bool with_header = true) const;

  private:
    std::vector<std::string> headers_;
    std::vector<std::vector<std::string>> rows_;
    std::vector<bool> right_;
    std::vector<std::size_t> min_width_;
};

// The number of UTF-8 code points in text.
std::size_t display_width(const std::string& text);

}  // namespace provisioner::cli
