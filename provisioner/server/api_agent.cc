// /api/v1/agent/*: what provisioner-agent calls, with its host's token (the discovery hello
// needs none: an unknown machine has no token yet).
#include "base/json.h"
#include "api.h"
#include "api_routes.h"
#include "api_support.h"
#include "json_views.h"
#include "provisioner/wire/hello.h"
#include "provisioner/wire/imaging_report.h"
#include "provisioner/wire/dom0.h"

namespace provisioner::server {

using imaging::http::bhttp::verb;
using nlohmann::json;

namespace {

Status save_facts(ApiContext& ctx, Host host, const json& facts) {
    if (!facts.is_object()) return Status::ok();
    host.facts_json = facts.dump();
    return ctx.store.update_host(host);
}

Response hello(ApiContext& ctx, const Request& req) {
    auto body = json_body(req);
    if (!body) return body_error(req, body.status());
    auto message = wire::decode<wire::Hello>(*body);
    if (!message) return status_response(req, message.status());
    auto mac = Mac::parse(message->mac);
    if (!mac) return status_response(req, mac.status());
    const std::string& mode = message->mode;
    Principal who = identify(req, ctx.auth);

    if (mode == "discover") {
        auto found = find_or_discover(ctx, *mac, "discovered by agent hello");
        if (found.refused) return discovery_refused(req, found.host.status());
        auto& host = found.host;
        if (!host) return status_response(req, host.status());
        // Anyone may describe a machine nobody has accepted yet; an enrolled host's facts
        // change only with its own token.
        if (host->state == HostState::discovered || (who.host && *who.host == host->id))
            if (Status s = save_facts(ctx, *host, message->facts); !s)
                return status_response(req, s);
        wire::HelloAnswer registered;
        registered.reason = "registered";
        return json_response(req, status::ok, wire::encode(registered));
    }
    if (mode != "image")
        return status_response(req, Status::error(Code::invalid_argument,
                                                  "mode must be image or discover"));
    auto host = ctx.store.find_host(*mac);
    if (!host) {
        if (host.status().code() == Code::not_found && !who.host)
            return error_response(req, status::unauthorized, "unauthorized",
                                  "agent endpoints need the host's token");
        return status_response(req, host.status());
    }
    if (auto denied = require_host(req, who, host->id, AgentScope::hello))
        return std::move(*denied);
    using Credential = Orchestrator::HelloCredential;
    Credential credential{Credential::Kind::dom0_token, who.deployment};
    if (who.kind == Principal::Kind::boot_ticket) credential.kind = Credential::Kind::boot_ticket;
    if (who.kind == Principal::Kind::deployment_token)
        credential.kind = Credential::Kind::deployment_token;
    auto answer = ctx.orchestrator.hello(*host, credential);
    // Its deployment runs under another server, or is being taken over from a dead one
    // (lease_keeper.h): the agent waits, and tries its other server URLs meanwhile.
    if (!answer.refused.empty() && credential.kind != Credential::Kind::dom0_token &&
        ctx.orchestrator.running_elsewhere(credential.deployment, host->id)) {
        wire::HelloAnswer wait;
        wait.action = wire::HelloAnswer::Action::wait;
        wait.retry_after_ms = 1000;
        return json_response(req, status::ok, wire::encode(wait));
    }
    if (!answer.refused.empty())
        return error_response(req, status::unauthorized, "unauthorized", answer.refused);
    if (Status s = save_facts(ctx, *host, message->facts); !s) return status_response(req, s);
    // The orchestrator's answer is held to the contract before it leaves.
    auto reply = wire::decode<wire::HelloAnswer>(answer.body);
    if (!reply)
        return error_response(req, status::internal_server_error, "internal",
                              reply.status().message());
    if (reply->job) {
        // From here on the netboot agent speaks with the deployment's token; the imaged
        // system's agent with the Dom0 token that this deployment's success makes current.
        DeploymentId deployment = reply->job->deployment;
        reply->job->token = ctx.auth.deployment_token(*host, deployment);
        reply->job->dom0_token = ctx.auth.dom0_token(*host, deployment);
    }
    return json_response(req, status::ok, wire::encode(*reply));
}

// 503, which agents retry (on their other server URLs too): the deployment runs, but another
// server drives it, or will once it has taken it over from a dead one.
Response owned_elsewhere(const Request& req, DeploymentId deployment) {
    return error_response(req, status::service_unavailable, "unavailable",
                          "deployment " + std::to_string(deployment) +
                              " is driven by another server (or being taken over); retry");
}

Response progress(ApiContext& ctx, const Request& req, Host& host, const json& body) {
    auto p = wire::decode<wire::Progress>(body);
    if (!p) return status_response(req, p.status());
    Status s = ctx.orchestrator.progress(host.id, p->deployment, p->bytes_done, p->bytes_total);
    if (!s && s.code() == Code::not_found &&
        ctx.orchestrator.running_elsewhere(p->deployment, host.id))
        return owned_elsewhere(req, p->deployment);
    if (!s) return status_response(req, s);
    return imaging::http::make_response(req, status::no_content, "");
}

imaging::http::Reply result(ApiContext& ctx, const Request& req, Host& host, const json& body) {
    auto r = wire::decode<wire::ImagingResult>(body);
    if (!r) return status_response(req, r.status());
    const json result = r->result.is_null() ? json::object() : r->result;
    auto answer = ctx.orchestrator.result(host, r->deployment, r->ok, r->error, result);
    if (!answer && answer.status().code() == Code::not_found &&
        ctx.orchestrator.running_elsewhere(r->deployment, host.id))
        return owned_elsewhere(req, r->deployment);
    if (!answer) return status_response(req, answer.status());
    // Held (proof of receipt): taken, not yet believed; the host reboots into its disk all the
    // same, and its state follows the sender's confirmation.
    Response reboot =
        answer->held
            ? json_response(req, status::accepted, {{"action", "reboot"}, {"held", answer->reason}})
            : json_response(req, status::ok, {{"action", "reboot"}});
    if (!r->ok || !ctx.power) return reboot;
    // The disk is the next boot before the agent is told to reboot, so that its reboot is the
    // host's one restart into the new system (power_service.h). The answer waits for the BMC
    // holding no worker, at most disk_before_reboot (within the agent's own limit on this
    // call); a slower BMC still gets the call, and the agent reboots all the same.
    auto [later, answer_later] =
        imaging::http::deferred_response(ctx.power->options().disk_before_reboot, reboot);
    if (!ctx.power->boot_disk_before_reboot(
            host, r->deployment,
            [answer = std::move(answer_later), reboot](bool) { answer(reboot); }))
        return reboot;  // no BMC to call (none, or a manual one)
    return std::move(later);
}

Response ready(ApiContext& ctx, const Request& req, Host& host, const json& body) {
    auto message = wire::decode<wire::Ready>(body);
    if (!message) return status_response(req, message.status());
    Status s = ctx.store.transaction([&]() -> Status {
        json facts = host.facts_json.empty() ? json::object()
                                              : base::parse_json(host.facts_json).value;
        if (!facts.is_object()) facts = json::object();
        facts["capacity"] = message->capacity;
        host.facts_json = facts.dump();
        if (Status u = ctx.store.update_host(host); !u) return u;
        if (host.state == HostState::ready) return Status::ok();
        return ctx.store.transition(host.id, HostState::ready, "agent ready").status();
    });
    if (!s) return status_response(req, s);
    return imaging::http::make_response(req, status::no_content, "");
}

}  // namespace

// The routes and their scopes are in api_routes.cc; the scope check hands over the token's host
// and the JSON body.
namespace handlers {

Reply agent_hello(ApiContext& ctx, const Call& c) { return hello(ctx, c.req); }
Reply agent_progress(ApiContext& ctx, const Call& c) {
    Host host = *c.host;
    return progress(ctx, c.req, host, c.body);
}
Reply agent_result(ApiContext& ctx, const Call& c) {
    Host host = *c.host;
    return result(ctx, c.req, host, c.body);
}
Reply agent_ready(ApiContext& ctx, const Call& c) {
    Host host = *c.host;
    return ready(ctx, c.req, host, c.body);
}

}  // namespace handlers

}  // namespace provisioner::server
