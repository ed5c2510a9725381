// provisionerd's agent endpoints (provisioner/API.md): hello, progress, result, ready, the
// Dom0's vms report and action answers, and the guest agent's service report. One
// call each, no retries here: the agent flow decides what to retry and for how long. Bodies
// are the wire contract's encodings (provisioner/wire); answers come back as JSON for the
// caller to decode with the contract's decoder.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "imaging/http/client.h"
#include "provisioner/wire/dom0.h"
#include "provisioner/wire/guest.h"

namespace provisioner::agent {

// Abstract so tests can answer instead of a server; the real one is a KeptClient's request.
using HttpFunction =
    std::function<imaging::http::ClientResponse(const imaging::http::ClientRequest&)>;

// What one call came to. retry: the server was unreachable or answered 5xx (it may be
// restarting); fatal: it refused (4xx) or answered something that is not JSON.
struct CallResult {
    enum class Kind { ok, retry, fatal };
    Kind kind = Kind::fatal;
    nlohmann::json body;  // the answer (null for 204)
    std::string error;    // one line, when not ok
    bool ok() const { return kind == Kind::ok; }
};

// "URL1,URL2,...": the servers of one site (any of them answers), in the order to try them;
// spaces around each and trailing slashes dropped, empty entries skipped.
std::vector<std::string> split_server_urls(std::string_view list);
// The first of them ("" when none): where calls that do not fail over go.
std::string first_server_url(std::string_view list);

// Not thread-safe: one thread's calls (it remembers which server answered last).
class ServerClient {
  public:
    // base_url: "http://10.77.0.1:8080", or several, comma-separated (split_server_urls); token:
    // the host token, or a guest's for guest_report ("" sends no Authorization).
    // Failover (as the CLI's --server A,B): a call whose server is unreachable or answers 5xx
    // is tried on the next URL, each once, from the one that answered last; it comes back
    // retry only when none answered, its error naming each server's failure. A 4xx is the
    // server's answer: no other is asked.
    // http: empty, one imaging::http::KeptClient of this client's own, so that an agent's
    // reports reuse one connection (TLS handshake) for as long as the server keeps it.
    ServerClient(std::string base_url, std::string token, HttpFunction http = {});

    CallResult hello(const std::string& mac, const std::string& mode, const nlohmann::json& facts);
    CallResult progress(std::int64_t deployment, std::uint64_t bytes_done,
                        std::uint64_t bytes_total);
    // error only when !ok; result (the imaging tool's final JSON line) only when not null.
    CallResult result(std::int64_t deployment, bool ok, const std::string& error,
                      const nlohmann::json& result);
    CallResult ready(const std::string& mac, const nlohmann::json& capacity);
    // POST /api/v1/agent/vms; the answer is a wire::Dom0Answer.
    CallResult vms(const wire::Dom0Report& report);
    // POST /api/v1/agent/actions/{id}: {"ok": true} or {"ok": false, "error": error}.
    CallResult action_done(std::int64_t id, bool ok, const std::string& error);
    // POST /api/v1/guest/report (token: the guest token); the answer is a wire::GuestAnswer.
    CallResult guest_report(const wire::GuestReport& report);

    // The server that answered last (the first, before any call).
    const std::string& base_url() const { return urls_[current_]; }
    // Every URL, comma-separated, in order: what an imaged system's seed carries.
    std::string server_list() const;
    // The calls from now on start at the next URL (a "wait" answer: the host's deployment
    // may be another server's).
    void next_server() { current_ = (current_ + 1) % urls_.size(); }
    const std::string& token() const { return token_; }
    // The token of the calls from now on: the netboot agent trades its boot ticket for the
    // deployment's token with its first hello.
    void set_token(std::string token) { token_ = std::move(token); }

  private:
    CallResult post(const std::string& path, const nlohmann::json& body,
                    std::chrono::milliseconds timeout);
    CallResult post_once(const std::string& base_url, const std::string& path,
                         const nlohmann::json& body, std::chrono::milliseconds timeout);
    std::vector<std::string> urls_;  // never empty
    std::size_t current_ = 0;
    std::string token_;
    HttpFunction http_;
};

}  // namespace provisioner::agent
