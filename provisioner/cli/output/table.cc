#include "output/table.h"

#include <algorithm>

namespace provisioner::cli {
namespace {

constexpr const char* kGap = "  ";

}  // namespace

std::size_t display_width(const std::string& text) {
    return std::count_if(text.begin(), text.end(),
                         [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

Table::Table(std::vector<std::string> headers)
    : headers_(std::move(headers)), right_(headers_.size()), min_width_(headers_.size()) {}

void Table::add_row(std::vector<std::string> cells) {
    cells.resize(headers_.size());
    rows_.push_back(std::move(cells));
}

void Table::align_right(std::size_t column) {
    if (column < right_.size()) right_[column] = true;
}

void Table::set_min_width(std::size_t column, std::size_t width) {
    if (column < min_width_.size()) min_width_[column] = width;
}

std::string Table::render(bool with_header) const {
    std::vector<std::size_t> width = min_width_;
    auto measure = [&](const std::vector<std::string>& row) {
        for (std::size_t c = 0; c < row.size(); ++c) {
            width[c] = std::max(width[c], display_width(row[c]));
        }
    };
    if (with_header) measure(headers_);
    for (const auto& row : rows_) measure(row);

    std::string out;
    auto emit = [&](const std::vector<std::string>& row) {
        std::string line;
        for (std::size_t c = 0; c < row.size(); ++c) {
            bool last = c + 1 == row.size();
            std::string pad(width[c] - display_width(row[c]), ' ');
            if (c > 0) line += kGap;
            if (right_[c]) {
                line += pad + row[c];
            } else {
                line += row[c];
                if (!last) line += pad;
            }
        }
        line.erase(line.find_last_not_of(' ') + 1);
        out += line + '\n';
    };
    if (with_header) emit(headers_);
    for (const auto& row : rows_) emit(row);
    return out;
}

}  // namespace provisioner::cli
