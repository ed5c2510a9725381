// JSON from anywhere we do not control (a request body, an agent's answer, a file on disk)
// is parsed through parse_json, which refuses a document over its size or nesting limit before
// nlohmann builds anything. nlohmann's parser is iterative, but copying, comparing and dumping
// a value recurse once per level: 100,000 nested arrays in a 200 KB body overflowed the stack
// of provisionerd's I/O thread. A bounded depth keeps every later recursion shallow.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace base {

struct JsonLimits {
    std::size_t max_bytes = 1 << 20;
    // Our own messages nest at most 6 levels (a report's VMs' disks); 64 leaves room for
    // facts and site documents and keeps every recursion over a value a few KB of stack.
    unsigned max_depth = 64;
};

// A parsed document, or why there is none: error says which limit was passed or what is
// malformed, in words fit for a client ("nested deeper than 64 levels", "malformed JSON at
// byte 12"), and value is then discarded. Invalid UTF-8 inside strings is malformed, so a
// parsed value always dumps.
struct ParsedJson {
    nlohmann::json value;
    std::string error;
    explicit operator bool() const { return error.empty(); }
};

ParsedJson parse_json(std::string_view text, const JsonLimits& limits = {});

// The deepest nesting of arrays and objects in text, counting only brackets outside strings;
// stops counting (and returns limit + 1) as soon as it passes limit. Text need not be valid.
unsigned json_depth(std::string_view text, unsigned limit);

}  // namespace base
