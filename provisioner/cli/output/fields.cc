#include "output/fields.h"

#include <algorithm>

#include "output/table.h"

namespace provisioner::cli {

std::string render_fields(const Fields& fields) {
    std::size_t key_width = 0;
    for (const auto& [key, value] : fields) key_width = std::max(key_width, display_width(key));
    std::string out;
    for (const auto& [key, value] : fields) {
        std::string line = key + ":" + std::string(key_width - display_width(key) + 1, ' ') + value;
        line.erase(line.find_last_not_of(' ') + 1);
        out += line + '\n';
    }
    return out;
}

}  // namespace provisioner::cli
