// The contract every server<->agent message keeps (provisioner/wire/WIRE.md):
//
// - Each message is one struct with one encoder, `encode(const T&)`, and one decoder,
//   `decode<T>(json)`, used by both provisionerd and provisioner-agent.
// - Every message object carries "v", the version of its own shape (T::kVersion, each message
//   counted apart); encoders write it. A message without "v" was sent before the contract
//   existed and reads as version 1. Adding an optional field keeps the version; it goes up
//   only when an old reader would misread the message (a field renamed, removed, made
//   required, or given another meaning). So a receiver refuses a version newer than its own,
//   saying so, and reads every older one.
// - Unknown fields are ignored, so a newer sender's additions do not break an older reader.
// - A missing required field is refused with an error naming it ("job: \"image.name\" is
//   missing"); a field of the wrong type too ("progress: \"bytes_done\" must be a
//   non-negative integer"). An optional field that is null reads as absent.
//
// Errors are invalid_argument Statuses; the HTTP API answers them with 400.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/json.h"
#include "provisioner/status.h"

namespace provisioner::wire {

// Specialized for each message in its header; the error names the message and the field.
template <class T>
Result<T> decode(const nlohmann::json& message);

// Text from the network: base::parse_json's bounds (size, nesting), then decode<T>.
template <class T>
Result<T> parse(std::string_view text, const base::JsonLimits& limits = {}) {
    base::ParsedJson parsed = base::parse_json(text, limits);
    if (!parsed)
        return Status::error(Code::invalid_argument, std::string(T::kName) + ": " + parsed.error);
    return decode<T>(parsed.value);
}

}  // namespace provisioner::wire
