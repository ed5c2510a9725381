// What every API handler shares: JSON answers, errors as API.md specifies them, auth checks,
// bounded JSON bodies, and looking up a host or an image by the references the API accepts.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "auth.h"
#include "imaging/http/router.h"
#include "jobs.h"
#include "provisioner/status.h"
#include "provisioner/store.h"

namespace provisioner::server {

struct ApiContext;

using imaging::http::bhttp::status;
using imaging::http::Request;
using imaging::http::Response;

inline constexpr std::size_t kMaxJsonBody = 1 << 20;
// Our agents' reports nest about 6 deep; facts from a machine's firmware a few more.
inline constexpr unsigned kMaxJsonDepth = 32;
inline constexpr std::size_t kMaxCsvBody = 16 << 20;  // also the server's overall body limit

Response json_response(const Request& req, status code, const nlohmann::json& body);
// {"error": {"code", "message", ...extra}}.
Response error_response(const Request& req, status code, std::string_view error_code,
                        const std::string& message, nlohmann::json extra = nullptr);
// The HTTP status and code of a store Status (not_found -> 404, conflict -> 409, ...).
Response status_response(const Request& req, const Status& s);
// 400, code invalid_argument, with message.
Response invalid_argument_response(const Request& req, const std::string& message);

// The caller, or the 401/403 answer to return instead.
std::optional<Response> require_operator(const Request& req, Authenticator& auth);
// A token of host's within scope (or nothing to check yet: the caller passes the host it
// resolved), else the 401/403 answer to return.
std::optional<Response> require_host(const Request& req, const Principal& who, HostId host,
                                     AgentScope scope = AgentScope::dom0);
Principal identify(const Request& req, Authenticator& auth);

// The body as a JSON object; a 400 (malformed, not an object) or 413 answer otherwise.
Result<nlohmann::json> json_body(const Request& req);
// Answer for a json_body failure.
Response body_error(const Request& req, const Status& s);

// A required string / optional string / unsigned field of a JSON object.
Result<std::string> string_field(const nlohmann::json& body, const char* key);
std::string optional_string(const nlohmann::json& body, const char* key);
// A required MAC field (either separator).
Result<Mac> mac_field(const nlohmann::json& body, const char* key);

// {host}: id, MAC (either separator) or name.
Result<Host> resolve_host(Store& store, std::string_view ref);
// {image}: id, name@version, or name (the newest import).
Result<Image> resolve_image(Store& store, std::string_view ref);

// A job as GET /api/v1/jobs/{job} shows it: state, progress, and its result or its error
// (with the HTTP status the operation's own endpoint would have answered).
nlohmann::json job_json(const JobView& job);
// Starts work on ctx.jobs: 202 with the job, its Location (/api/v1/jobs/ID) and "location";
// 503 with Retry-After when too many jobs wait.
Response job_started(ApiContext& ctx, const Request& req, std::string kind,
                     std::string what, JobWork work);

}  // namespace provisioner::server
