// What the netboot agent posts while and after it images: POST /api/v1/agent/progress and
// POST /api/v1/agent/result (API.md, "Agent endpoints"). The rules are in codec.h.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "provisioner/wire/codec.h"

namespace provisioner::wire {

// {"v", "deployment", "bytes_done", "bytes_total"}, all required.
struct Progress {
    static constexpr const char* kName = "progress";
    static constexpr int kVersion = 1;
    std::int64_t deployment = 0;
    std::uint64_t bytes_done = 0, bytes_total = 0;
    bool operator==(const Progress&) const = default;
};

// {"v", "deployment", "ok", "error"?, "result"?}. error (why it failed) is written when not empty;
// result is `imaging receive`'s final JSON line ("sha256", "bytes_received", "seconds", ...), an
// object, written only when not null; the server checks its sha256 against the job's.
struct ImagingResult {
    static constexpr const char* kName = "result";
    static constexpr int kVersion = 1;
    std::int64_t deployment = 0;
    bool ok = false;
    std::string error;
    nlohmann::json result;  // an object, or null when absent
    bool operator==(const ImagingResult&) const = default;
};

nlohmann::json encode(const Progress& progress);
nlohmann::json encode(const ImagingResult& result);
template <>
Result<Progress> decode<Progress>(const nlohmann::json& message);
template <>
Result<ImagingResult> decode<ImagingResult>(const nlohmann::json& message);

}  // namespace provisioner::wire
