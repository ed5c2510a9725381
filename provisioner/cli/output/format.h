// How the CLI writes the API's values for people: "-" for what is absent, times in UTC,
// sizes in binary units. Tolerant of missing fields, so that an older or newer server's JSON
// still prints.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace provisioner::cli {

// object[key], or null when object is not an object or has no such key.
const nlohmann::json& field(const nlohmann::json& object, const char* key);

// A string as it is, a number or bool as JSON writes it, "-" for null or "".
std::string text(const nlohmann::json& value);

// A number as uint64 (0 when it is not a non-negative number).
std::uint64_t count(const nlohmann::json& value);

// Unix milliseconds as "2024-05-01 12:00:03" (UTC); "-" for null.
std::string format_time(const nlohmann::json& unix_ms);

// Bytes as "412.0 MiB"; "-" for null.
std::string format_bytes(const nlohmann::json& bytes);

// Seconds between two Unix-millisecond times as "12.3"; "-" unless both are there.
std::string format_seconds(const nlohmann::json& start_ms, const nlohmann::json& end_ms);

// An image reference as "dom0@2" from {"name", "version"} (or "#id" without them).
std::string image_label(const nlohmann::json& image);

}  // namespace provisioner::cli
