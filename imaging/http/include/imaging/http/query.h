// URL query strings: percent-decoding that keeps binary bytes (BitTorrent's info_hash is 20
// raw bytes in the query), and a parse into key -> values.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace imaging::http {

// Decodes %XX and '+'; nullopt for a malformed escape.
std::optional<std::string> percent_decode(std::string_view in);
// Encodes every byte outside RFC 3986's unreserved set.
std::string percent_encode(std::string_view in);

using QueryParams = std::multimap<std::string, std::string, std::less<>>;

// Parses the part of target after '?'; nullopt if any key or value is malformed.
std::optional<QueryParams> parse_query(std::string_view target);

// The first value of key, if present.
std::optional<std::string> query_value(const QueryParams& q, std::string_view key);

}  // namespace imaging::http
