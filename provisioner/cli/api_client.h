// The CLI's one way to provisionerd: an HTTP request with the operator's token, and the answer
// decoded into either the API's JSON or one error line that says what to do about it.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "imaging/http/client.h"
#include "token.h"

namespace provisioner::cli {

// Sends one request; imaging::http::http_request in the program, a fake in tests.
using HttpFunction =
    std::function<imaging::http::ClientResponse(const imaging::http::ClientRequest&)>;

struct ApiError {
    enum class Kind {
        transport,     // no response: the server is unreachable, or it timed out
        http,          // a non-2xx status
        bad_response,  // a 2xx whose body is not the JSON the API promises
    };
    Kind kind = Kind::transport;
    unsigned status = 0;  // the HTTP status, 0 without a response
    std::string code;     // the API's error code ("not_found"), empty when it sent none
    std::string message;  // one line, ready to follow "provisioner: error: "
    nlohmann::json body;  // the API's error document, null when there was none
};

// Either the API's JSON (null for an empty 2xx body, such as a 204) or an ApiError.
class ApiResult {
  public:
    ApiResult(nlohmann::json body) : v_(std::move(body)) {}
    ApiResult(ApiError error) : v_(std::move(error)) {}

    bool ok() const { return std::holds_alternative<nlohmann::json>(v_); }
    explicit operator bool() const { return ok(); }
    const nlohmann::json& json() const { return std::get<nlohmann::json>(v_); }
    const ApiError& error() const { return std::get<ApiError>(v_); }

  private:
    std::variant<nlohmann::json, ApiError> v_;
};

struct ApiClientConfig {
    std::string server = "https://127.0.0.1:8080";  // without a trailing slash
    // Other provisionerd sharing the same database (issue 20), tried in order when a request
    // cannot reach the one in use; the first that answers serves the following requests too.
    // Any request fails over while its server cannot be connected to (nothing was sent);
    // a GET also after a timeout or a broken exchange, which a POST or DELETE does not (the
    // server may have acted on it).
    std::vector<std::string> fallback_servers;
    TokenChoice token;
    std::string ca_file;  // https://: the CA the server must chain to; empty: the system's
    std::chrono::milliseconds timeout{10'000};
};

// Not thread-safe; cheap to copy. Paths start with "/api/v1/"; callers percent-encode what
// they put into them (see path_segment).
class ApiClient {
  public:
    ApiClient(ApiClientConfig config, HttpFunction http);

    ApiResult get(const std::string& path) const;
    ApiResult del(const std::string& path) const;
    ApiResult post(const std::string& path, const nlohmann::json& body) const;
    ApiResult post_text(const std::string& path, std::string body,
                        const std::string& content_type) const;

    const ApiClientConfig& config() const { return config_; }
    // The same client with another time limit per request: for a request whose answer waits
    // on slow peers (host power waits on BMCs, each call retried for up to a minute).
    ApiClient with_timeout(std::chrono::milliseconds timeout) const {
        ApiClient copy = *this;
        copy.config_.timeout = timeout;
        return copy;
    }

    // The base URL requests go to now (server, or the fallback that last answered).
    const std::string& current_server() const;

  private:
    ApiResult send(imaging::http::ClientRequest request, const std::string& path) const;
    ApiClientConfig config_;
    HttpFunction http_;
    std::vector<std::string> servers_;  // server, then the fallbacks
    mutable std::size_t current_ = 0;   // index into servers_
};

// Turns one exchange into an ApiResult; public so that tests can feed it responses.
// url is the URL requested, server the base URL the user chose, token the token that was sent.
ApiResult decode_response(const imaging::http::ClientResponse& response, const std::string& url,
                          const std::string& server, const TokenChoice& token);

// A host, image or deployment reference made safe to put into a URL path.
std::string path_segment(std::string_view text);

}  // namespace provisioner::cli
