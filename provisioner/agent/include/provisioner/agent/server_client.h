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

#include "imaging/http/client.h"
#include "provisioner/wire/dom0.h"
#include "provisioner/wire/guest.h"

namespace provisioner::agent {

// Abstract so tests can answer instead of a server; the real one is imaging::http::http_request.
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

class ServerClient {
  public:
    // base_url: "http://10.77.0.1:8080"; token: the host token, or a guest's for guest_report
    // ("" sends no Authorization).
    ServerClient(std::string base_url, std::string token,
                 HttpFunction http = imaging::http::http_request);

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

    const std::string& base_url() const { return base_url_; }
    const std::string& token() const { return token_; }
    // The token of the calls from now on: the netboot agent trades its boot ticket for the
    // deployment's token with its first hello.
    void set_token(std::string token) { token_ = std::move(token); }

  private:
    CallResult post(const std::string& path, const nlohmann::json& body,
                    std::chrono::milliseconds timeout);
    std::string base_url_;
    std::string token_;
    HttpFunction http_;
};

}  // namespace provisioner::agent
