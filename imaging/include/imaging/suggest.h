// "Did you mean ...?" for mistyped command names: the imaging tool and the provisioner CLI
// share it so that both answer a typo the same way.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imaging {

// Levenshtein distance: insertions, deletions and substitutions, each costing 1.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to word, if it is close enough to be what was meant: at most 2 edits
// away and fewer edits than word has characters. Ties go to the earlier candidate.
std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates);

}  // namespace imaging
