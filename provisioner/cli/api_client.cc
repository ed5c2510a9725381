#include "api_client.h"
#include "base/json.h"

#include <utility>

#include "imaging/http/query.h"

namespace provisioner::cli {
namespace {

constexpr std::size_t kMaxQuotedBody = 200;
// A full host list of a large site runs to megabytes; nothing we send nests deeper than 64.
const base::JsonLimits kAnswerLimits{256 << 20, 64};

std::string first_line(const std::string& text) {
    std::string line = text.substr(0, text.find('\n'));
    if (line.size() > kMaxQuotedBody) line = line.substr(0, kMaxQuotedBody) + "...";
    return line;
}

// http_request's errors start with the URL it was given; the message names the server instead.
std::string transport_reason(const std::string& error, const std::string& url) {
    if (error.starts_with(url + ": ")) return error.substr(url.size() + 2);
    return error;
}

ApiError transport_error(const imaging::http::ClientResponse& response, const std::string& url,
                         const std::string& server) {
    ApiError error;
    error.kind = ApiError::Kind::transport;
    if (response.error.find("TLS certificate is not trusted") != std::string::npos) {
        error.message = "provisionerd at " + server + " is not the server you trust (" +
                        transport_reason(response.error, url) +
                        "); pass the server's CA with --ca or $PROVISIONER_CA (provisionerd "
                        "makes STATE/ca.crt)";
        return error;
    }
    error.message = "cannot reach provisionerd at " + server + " (" +
                    transport_reason(response.error, url) +
                    "); check --server or $PROVISIONER_SERVER, and that provisionerd is running";
    return error;
}

ApiError http_error(const imaging::http::ClientResponse& response, const std::string& server,
                    const TokenChoice& token) {
    ApiError error;
    error.kind = ApiError::Kind::http;
    error.status = response.status;
    std::string api_message;
    auto body = base::parse_json(response.body, kAnswerLimits).value;
    if (!body.is_discarded() && body.is_object() && body.contains("error") &&
        body["error"].is_object()) {
        error.body = body;
        const auto& e = body["error"];
        if (e.contains("code") && e["code"].is_string()) error.code = e["code"];
        if (e.contains("message") && e["message"].is_string()) api_message = e["message"];
    }
    if (api_message.empty()) {
        api_message = "HTTP " + std::to_string(response.status) + " from " + server;
        if (!response.body.empty()) api_message += ": " + first_line(response.body);
    }
    if (response.status == 401) {
        if (token.token.empty()) {
            error.message = "provisionerd wants an API token and none was given (" + api_message +
                            "); pass --token, or set $PROVISIONER_TOKEN or $PROVISIONER_TOKEN_FILE";
        } else {
            error.message =
                "provisionerd refused the token from " + token.origin + " (" + api_message + ")";
        }
    } else if (response.status == 403) {
        error.message = api_message + " (with the token from " + token.origin + ")";
    } else {
        error.message = api_message;
    }
    return error;
}

}  // namespace

ApiResult decode_response(const imaging::http::ClientResponse& response, const std::string& url,
                          const std::string& server, const TokenChoice& token) {
    if (!response.transport_ok) return transport_error(response, url, server);
    if (!response.success()) return http_error(response, server, token);
    if (response.body.empty()) return nlohmann::json();
    auto body = base::parse_json(response.body, kAnswerLimits).value;
    if (body.is_discarded()) {
        ApiError error;
        error.kind = ApiError::Kind::bad_response;
        error.status = response.status;
        error.message = "provisionerd at " + server + " answered with something that is not " +
                        "JSON: " + first_line(response.body);
        return error;
    }
    return body;
}

ApiClient::ApiClient(ApiClientConfig config, HttpFunction http)
    : config_(std::move(config)), http_(std::move(http)) {
    while (config_.server.ends_with('/')) config_.server.pop_back();
    servers_.push_back(config_.server);
    for (std::string other : config_.fallback_servers) {
        while (other.ends_with('/')) other.pop_back();
        servers_.push_back(std::move(other));
    }
}

const std::string& ApiClient::current_server() const {
    return servers_[current_];
}

namespace {

// Whether a request that got no response may go to another server: always when it never left
// (no connection was made), and for a GET also when the exchange broke or timed out.
bool may_fail_over(const imaging::http::ClientResponse& response, const std::string& method) {
    if (response.transport_ok) return false;
    const std::string& e = response.error;
    const bool never_sent = e.find(": resolving: ") != std::string::npos ||
                            e.find(": connecting: ") != std::string::npos;
    return never_sent || method == "GET";
}

}  // namespace

ApiResult ApiClient::get(const std::string& path) const {
    imaging::http::ClientRequest request;
    request.method = "GET";
    return send(std::move(request), path);
}

ApiResult ApiClient::del(const std::string& path) const {
    imaging::http::ClientRequest request;
    request.method = "DELETE";
    return send(std::move(request), path);
}

ApiResult ApiClient::post(const std::string& path, const nlohmann::json& body) const {
    return post_text(path, body.dump(), "application/json");
}

ApiResult ApiClient::post_text(const std::string& path, std::string body,
                               const std::string& content_type) const {
    imaging::http::ClientRequest request;
    request.method = "POST";
    request.body = std::move(body);
    request.content_type = content_type;
    return send(std::move(request), path);
}

ApiResult ApiClient::send(imaging::http::ClientRequest request, const std::string& path) const {
    request.timeout = config_.timeout;
    request.ca_file = config_.ca_file;
    request.headers.emplace_back("Accept", "application/json");
    if (!config_.token.token.empty()) {
        request.headers.emplace_back("Authorization", "Bearer " + config_.token.token);
    }
    // From the server in use through every other once, in the order given.
    std::string unreachable;
    for (std::size_t tried = 0; tried < servers_.size(); ++tried) {
        const std::size_t index = (current_ + tried) % servers_.size();
        request.url = servers_[index] + path;
        auto response = http_(request);
        const bool last = tried + 1 == servers_.size();
        if (!last && may_fail_over(response, request.method)) {
            unreachable += (unreachable.empty() ? "" : ", ") + servers_[index];
            continue;
        }
        if (response.transport_ok) current_ = index;
        ApiResult result = decode_response(response, request.url, servers_[index], config_.token);
        if (!result.ok() && result.error().kind == ApiError::Kind::transport && !unreachable.empty()) {
            ApiError error = result.error();
            error.message += " (nor at " + unreachable + ")";
            return error;
        }
        return result;
    }
    return ApiError{ApiError::Kind::transport, 0, "", "no provisionerd to ask", nullptr};
}

std::string path_segment(std::string_view text) {
    // ':' and '@' are legal in a path segment (RFC 3986 pchar), so MACs and name@version
    // references go as they are typed; everything else outside the unreserved set is escaped.
    std::string out;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= text.size(); ++i) {
        if (i < text.size() && text[i] != ':' && text[i] != '@') continue;
        out += imaging::http::percent_encode(text.substr(start, i - start));
        if (i < text.size()) out += text[i];
        start = i + 1;
    }
    return out;
}

}  // namespace provisioner::cli
