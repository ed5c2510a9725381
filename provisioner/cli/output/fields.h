// The body of a `show` command: one "key: value" line per field, values aligned.
//   name:   h1
//   state:  enrolled
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace provisioner::cli {

using Fields = std::vector<std::pair<std::string, std::string>>;

std::string render_fields(const Fields& fields);

}  // namespace provisioner::cli
