#include "api_support.h"

#include <charconv>

#include "base/json.h"
#include "imaging/http/query.h"

namespace provisioner::server {

using nlohmann::json;

Response json_response(const Request& req, status code, const json& body) {
    // An answer may quote what a client sent (a host name in a 404): bytes that are not UTF-8
    // are replaced, not thrown (found by fuzz_api_requests).
    return imaging::http::make_response(
        req, code, body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n",
        "application/json");
}

Response error_response(const Request& req, status code, std::string_view error_code,
                        const std::string& message, json extra) {
    json error = {{"code", error_code}, {"message", message}};
    if (extra.is_object()) error.update(extra);
    return json_response(req, code, {{"error", error}});
}

Response status_response(const Request& req, const Status& s) {
    status code = status::internal_server_error;
    switch (s.code()) {
    case Code::ok: code = status::ok; break;
    case Code::invalid_argument: code = status::bad_request; break;
    case Code::not_found: code = status::not_found; break;
    case Code::conflict:
    case Code::illegal_transition: code = status::conflict; break;
    case Code::error:
    case Code::storage: code = status::internal_server_error; break;
    }
    std::string name = to_string(s.code());  // "invalid argument" -> "invalid_argument"
    for (char& c : name)
        if (c == ' ') c = '_';
    return error_response(req, code, name, s.message());
}

Response invalid_argument_response(const Request& req, const std::string& message) {
    return status_response(req, Status::error(Code::invalid_argument, message));
}

Principal identify(const Request& req, Authenticator& auth) {
    auto it = req.find(imaging::http::bhttp::field::authorization);
    if (it == req.end()) return {};
    return auth.identify(std::string_view(it->value().data(), it->value().size()));
}

std::optional<Response> require_operator(const Request& req, Authenticator& auth) {
    Principal who = identify(req, auth);
    switch (who.kind) {
    case Principal::Kind::operator_token: return std::nullopt;
    case Principal::Kind::none:
        return error_response(req, status::unauthorized, "unauthorized",
                              "this endpoint needs an operator token (Authorization: Bearer)");
    case Principal::Kind::invalid:
        return error_response(req, status::unauthorized, "unauthorized", "token refused");
    case Principal::Kind::host_token:
    case Principal::Kind::boot_ticket:
    case Principal::Kind::deployment_token:
        return error_response(req, status::forbidden, "forbidden",
                              "a host token is valid only on /api/v1/agent/ endpoints");
    }
    return std::nullopt;
}

std::optional<Response> require_host(const Request& req, const Principal& who, HostId host,
                                     AgentScope scope) {
    auto refuse = [&](const char* why) {
        return error_response(req, status::forbidden, "forbidden", why);
    };
    switch (who.kind) {
    case Principal::Kind::boot_ticket:
        if (scope != AgentScope::hello) return refuse("a boot ticket is good for one hello only");
        break;
    case Principal::Kind::deployment_token:
        if (scope == AgentScope::dom0)
            return refuse("a deployment token is good for hello, progress and result only");
        break;
    case Principal::Kind::host_token: break;
    case Principal::Kind::none:
        return error_response(req, status::unauthorized, "unauthorized",
                              "agent endpoints need the host's token");
    case Principal::Kind::invalid:
        return error_response(req, status::unauthorized, "unauthorized", "token refused");
    case Principal::Kind::operator_token:
        return refuse("agent endpoints take a host token, not an operator token");
    }
    if (who.host != host) return refuse("this host token belongs to another host");
    return std::nullopt;
}

Result<json> json_body(const Request& req) {
    if (req.body().size() > kMaxJsonBody)
        return Status::error(Code::storage, "too large");  // mapped to 413 by body_error
    auto parsed = base::parse_json(req.body(), {kMaxJsonBody, kMaxJsonDepth});
    if (!parsed) return Status::error(Code::invalid_argument, "the body: " + parsed.error);
    json& body = parsed.value;
    if (!body.is_object())
        return Status::error(Code::invalid_argument, "the body must be a JSON object");
    return body;
}

Response body_error(const Request& req, const Status& s) {
    if (s.code() == Code::storage)
        return error_response(req, status::payload_too_large, "too_large",
                              "JSON bodies are limited to " + std::to_string(kMaxJsonBody) +
                                  " bytes");
    return status_response(req, s);
}

Result<std::string> string_field(const json& body, const char* key) {
    auto it = body.find(key);
    if (it == body.end() || !it->is_string() || it->get_ref<const std::string&>().empty())
        return Status::error(Code::invalid_argument,
                             std::string("\"") + key + "\" must be a non-empty string");
    return it->get<std::string>();
}

std::string optional_string(const json& body, const char* key) {
    auto it = body.find(key);
    return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Result<Mac> mac_field(const json& body, const char* key) {
    auto text = string_field(body, key);
    if (!text) return text.status();
    return Mac::parse(*text);
}

namespace {

std::optional<std::int64_t> parse_id(std::string_view text) {
    std::int64_t id = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || end != text.data() + text.size() || id <= 0) return std::nullopt;
    return id;
}

}  // namespace

Result<Host> resolve_host(Store& store, std::string_view ref) {
    if (auto id = parse_id(ref)) return store.get_host(*id);
    if (auto mac = Mac::parse(ref)) return store.find_host(*mac);
    return store.find_host_by_name(std::string(ref));
}

Result<Image> resolve_image(Store& store, std::string_view ref) {
    if (auto id = parse_id(ref)) return store.get_image(*id);
    auto at = ref.find('@');
    if (at != std::string_view::npos)
        return store.find_image(std::string(ref.substr(0, at)), std::string(ref.substr(at + 1)));
    auto images = store.list_images();
    if (!images) return images.status();
    const Image* newest = nullptr;
    for (const Image& i : *images)
        if (i.name == ref && (!newest || std::pair(i.imported_at, i.id) >
                                              std::pair(newest->imported_at, newest->id)))
            newest = &i;
    if (!newest) return Status::error(Code::not_found, "no image named " + std::string(ref));
    return *newest;
}

}  // namespace provisioner::server
