#include "provisioner/agent/server_client.h"
#include "imaging/http/kept_client.h"
#include "base/json.h"
#include "provisioner/wire/hello.h"
#include "provisioner/wire/imaging_report.h"

#include <algorithm>
#include <memory>

namespace provisioner::agent {
namespace {

using json = nlohmann::json;

// Progress is sent about once a second and may be lost; the other calls may take the server
// a while (hello records facts and moves the host).
constexpr std::chrono::milliseconds kProgressTimeout{3'000};
constexpr std::chrono::milliseconds kCallTimeout{15'000};

// "401 unauthorized: bad token" from the API's error body, else the status and the raw body.
std::string describe_refusal(unsigned status, const std::string& body) {
    std::string what = "HTTP " + std::to_string(status);
    auto parsed = base::parse_json(body).value;
    if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_object()) {
        const json& e = parsed["error"];
        return what + " " + e.value("code", "") + ": " + e.value("message", "");
    }
    std::string first_line = body.substr(0, std::min<std::size_t>(body.find('\n'), 200));
    return first_line.empty() ? what : what + ": " + first_line;
}

}  // namespace

std::vector<std::string> split_server_urls(std::string_view list) {
    std::vector<std::string> urls;
    while (!list.empty()) {
        const std::size_t comma = std::min(list.find(','), list.size());
        std::string url(list.substr(0, comma));
        list.remove_prefix(std::min(comma + 1, list.size()));
        while (!url.empty() && (url.back() == ' ' || url.back() == '/')) url.pop_back();
        url.erase(0, std::min(url.find_first_not_of(' '), url.size()));
        if (!url.empty()) urls.push_back(std::move(url));
    }
    return urls;
}

std::string first_server_url(std::string_view list) {
    auto urls = split_server_urls(list);
    return urls.empty() ? std::string() : urls.front();
}

ServerClient::ServerClient(std::string base_url, std::string token, HttpFunction http)
    : urls_(split_server_urls(base_url)), token_(std::move(token)), http_(std::move(http)) {
    if (urls_.empty()) urls_.push_back("");  // every call fails, naming no server
    if (!http_) {
        auto kept = std::make_shared<imaging::http::KeptClient>();
        http_ = [kept](const imaging::http::ClientRequest& request) {
            return kept->request(request);
        };
    }
}

std::string ServerClient::server_list() const {
    std::string out;
    for (const std::string& url : urls_) out += (out.empty() ? "" : ",") + url;
    return out;
}

CallResult ServerClient::post(const std::string& path, const json& body,
                              std::chrono::milliseconds timeout) {
    CallResult out;
    // Every server's own failure: a rack server's 503 (the deployment is another's) next to
    // the owner's connection error, not only the last one asked.
    std::string errors;
    for (std::size_t tried = 0; tried < urls_.size(); ++tried) {
        out = post_once(urls_[current_], path, body, timeout);
        if (out.kind != CallResult::Kind::retry) return out;
        if (urls_.size() > 1) {
            errors += (errors.empty() ? "" : "; ") + out.error + " (" + urls_[current_] + ")";
            next_server();
        }
    }
    if (urls_.size() > 1) out.error = "no server took it: " + errors;
    return out;
}

CallResult ServerClient::post_once(const std::string& base_url, const std::string& path,
                                   const json& body, std::chrono::milliseconds timeout) {
    imaging::http::ClientRequest request;
    request.method = "POST";
    request.url = base_url + path;
    // Text from outside (an installer's output in an error) may not be UTF-8: replaced, not
    // thrown.
    request.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
    request.timeout = timeout;
    request.max_body_bytes = 1 << 20;
    if (!token_.empty()) request.headers.emplace_back("Authorization", "Bearer " + token_);
    imaging::http::ClientResponse response = http_(request);
    CallResult out;
    if (!response.transport_ok) {
        out.kind = CallResult::Kind::retry;
        out.error = response.error;  // names the URL and the stage that failed
        return out;
    }
    if (!response.success()) {
        out.kind = response.status >= 500 ? CallResult::Kind::retry : CallResult::Kind::fatal;
        out.error = "POST " + path + ": " + describe_refusal(response.status, response.body);
        return out;
    }
    if (response.status == 204 || response.body.empty()) {
        out.kind = CallResult::Kind::ok;
        return out;
    }
    out.body = base::parse_json(response.body).value;
    if (out.body.is_discarded()) {
        out.kind = CallResult::Kind::fatal;
        out.body = nullptr;
        out.error = "POST " + path + ": the answer is not JSON";
        return out;
    }
    out.kind = CallResult::Kind::ok;
    return out;
}

CallResult ServerClient::hello(const std::string& mac, const std::string& mode, const json& facts) {
    return post("/api/v1/agent/hello", wire::encode(wire::Hello{mac, mode, facts}), kCallTimeout);
}

CallResult ServerClient::progress(std::int64_t deployment, std::uint64_t bytes_done,
                                  std::uint64_t bytes_total) {
    return post("/api/v1/agent/progress",
                wire::encode(wire::Progress{deployment, bytes_done, bytes_total}),
                kProgressTimeout);
}

CallResult ServerClient::result(std::int64_t deployment, bool ok, const std::string& error,
                                const json& result) {
    return post("/api/v1/agent/result",
                wire::encode(wire::ImagingResult{deployment, ok, ok ? "" : error, result}),
                kCallTimeout);
}

CallResult ServerClient::ready(const std::string& mac, const json& capacity) {
    return post("/api/v1/agent/ready", wire::encode(wire::Ready{mac, capacity}), kCallTimeout);
}

CallResult ServerClient::vms(const wire::Dom0Report& report) {
    return post("/api/v1/agent/vms", wire::encode(report), kCallTimeout);
}

CallResult ServerClient::action_done(std::int64_t id, bool ok, const std::string& error) {
    return post("/api/v1/agent/actions/" + std::to_string(id),
                wire::encode(wire::ActionAnswer{ok, ok ? "" : error}), kCallTimeout);
}

CallResult ServerClient::guest_report(const wire::GuestReport& report) {
    return post("/api/v1/guest/report", wire::encode(report), kCallTimeout);
}

}  // namespace provisioner::agent
