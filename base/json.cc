#include "base/json.h"

namespace base {

unsigned json_depth(std::string_view text, unsigned limit) {
    unsigned depth = 0, deepest = 0;
    bool in_string = false, escaped = false;
    for (char c : text) {
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
            continue;
        }
        switch (c) {
        case '"': in_string = true; break;
        case '[':
        case '{':
            if (++depth > deepest) {
                deepest = depth;
                if (deepest > limit) return limit + 1;
            }
            break;
        case ']':
        case '}':
            if (depth > 0) --depth;
            break;
        default: break;
        }
    }
    return deepest;
}

ParsedJson parse_json(std::string_view text, const JsonLimits& limits) {
    ParsedJson out;
    out.value = nlohmann::json(nlohmann::json::value_t::discarded);
    if (text.size() > limits.max_bytes) {
        out.error = "the document is larger than " + std::to_string(limits.max_bytes) + " bytes";
        return out;
    }
    if (json_depth(text, limits.max_depth) > limits.max_depth) {
        out.error = "the document is nested deeper than " + std::to_string(limits.max_depth) +
                    " levels";
        return out;
    }
    try {
        out.value = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
        // e.what() quotes the input; the byte offset is all a client needs to find its mistake.
        out.error = "malformed JSON at byte " + std::to_string(e.byte);
    } catch (const nlohmann::json::exception&) {
        // out_of_range 406: a number beyond a double ("1e999"); found by tests/fuzz.
        out.value = nlohmann::json(nlohmann::json::value_t::discarded);
        out.error = "malformed JSON: a number out of range";
    }
    return out;
}

}  // namespace base
