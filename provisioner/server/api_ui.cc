// The web UI: its files (GET / and /ui/{file...}, built into the program), sign-in and
// sign-out (/api/v1/session), the live stream of changes (GET /api/v1/stream), and the last
// applied site file (GET /api/v1/site) that its Site page edits.
#include "api_ui.h"

#include <openssl/crypto.h>

#include <fstream>
#include <sstream>

#include "api_routes.h"
#include "provisioner/ui/assets.h"
#include "ui_feed.h"
#include "ui_sessions.h"

namespace provisioner::server {

using field = imaging::http::bhttp::field;
using imaging::http::bhttp::verb;
using nlohmann::json;

namespace {

std::string header(const Request& req, field name) {
    auto it = req.find(name);
    return it == req.end() ? std::string() : std::string(it->value());
}

std::optional<UiSession> session_of(ApiContext& ctx, const Request& req) {
    std::string cookie = UiSessions::cookie_value(header(req, field::cookie));
    if (cookie.empty() || !ctx.ui_sessions) return std::nullopt;
    return ctx.ui_sessions->check(cookie);
}

json session_json(const UiSession& s) {
    return {{"name", s.name}, {"csrf", s.csrf}, {"expires_at", s.expires_at}};
}

// What a page may load and where it may connect: this server only. No inline script or
// style, so an injected string in a host's name or an event's reason cannot run.
void harden(Response& res) {
    res.set("Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Referrer-Policy", "no-referrer");
    res.set("X-Frame-Options", "DENY");
    // Small files, served from memory: always revalidate, so an upgraded server's UI is used.
    res.set(field::cache_control, "no-cache");
}

Response asset_response(const Request& req, std::string_view path) {
    const ui::Asset* asset = ui::find_asset(path);
    if (!asset)
        return error_response(req, status::not_found, "not_found",
                              "no such file in the web UI: " + std::string(path));
    auto res = imaging::http::make_response(req, status::ok, std::string(asset->body),
                                            asset->content_type);
    harden(res);
    return res;
}

}  // namespace

std::optional<Response> admit_session(ApiContext& ctx, const Request& req, Principal& who) {
    auto session = session_of(ctx, req);
    if (!session) return std::nullopt;
    if (req.method() != verb::get && req.method() != verb::head) {
        auto it = req.find("X-CSRF-Token");
        const std::string sent = it == req.end() ? std::string() : std::string(it->value());
        if (sent.size() != session->csrf.size() ||
            CRYPTO_memcmp(sent.data(), session->csrf.data(), sent.size()) != 0)
            return error_response(req, status::forbidden, "csrf",
                                  "a request that changes state needs the session's "
                                  "X-CSRF-Token header");
    }
    who.kind = Principal::Kind::operator_token;
    who.name = session->name;
    return std::nullopt;
}

namespace handlers {

Reply ui_index(ApiContext&, const Call& c) {
    return asset_response(c.req, "index.html");
}

Reply ui_asset(ApiContext&, const Call& c) {
    return asset_response(c.req, c.param("file"));
}

Reply sign_in(ApiContext& ctx, const Call& c) {
    auto token = string_field(c.body, "token");
    if (!token) return status_response(c.req, token.status());
    auto session = ctx.ui_sessions->sign_in(*token);
    if (!session) {
        if (session.status().code() == Code::invalid_argument)
            return error_response(c.req, status::unauthorized, "unauthorized",
                                  session.status().message());
        return status_response(c.req, session.status());
    }
    auto res = json_response(c.req, status::ok, session_json(*session));
    res.set(field::set_cookie, ctx.ui_sessions->set_cookie_header(*session, c.http.secure));
    res.set(field::cache_control, "no-store");
    return res;
}

Reply show_session(ApiContext& ctx, const Call& c) {
    auto session = session_of(ctx, c.req);
    json body = session ? session_json(*session) : json{{"name", c.who.name}};
    auto res = json_response(c.req, status::ok, body);
    res.set(field::cache_control, "no-store");
    return res;
}

Reply sign_out(ApiContext& ctx, const Call& c) {
    auto session = session_of(ctx, c.req);
    if (!session)
        return error_response(c.req, status::bad_request, "invalid_argument",
                              "no browser session to sign out of (a token in Authorization "
                              "is revoked with DELETE /api/v1/tokens/{name})");
    if (Status s = ctx.ui_sessions->sign_out(*session); !s) return status_response(c.req, s);
    auto res = json_response(c.req, status::ok, {{"signed_out", session->name}});
    res.set(field::set_cookie, UiSessions::clear_cookie_header(c.http.secure));
    return res;
}

// The last applied site file (STATE/site.xml, which site apply writes), for the Site page's
// editor; null before the first apply.
Reply current_site(ApiContext& ctx, const Call& c) {
    std::ifstream in(ctx.config.state_dir / "site.xml", std::ios::binary);
    if (!in) return json_response(c.req, status::ok, {{"site", nullptr}});
    std::ostringstream text;
    text << in.rdbuf();
    return json_response(c.req, status::ok, {{"site", text.str()}});
}

Reply stream(ApiContext& ctx, const Call& c) {
    auto source = ctx.ui_feed ? ctx.ui_feed->subscribe() : nullptr;
    if (!source) {
        auto busy = error_response(c.req, status::service_unavailable, "unavailable",
                                   "too many live streams are open; retry shortly");
        busy.set(field::retry_after, "5");
        return busy;
    }
    Response head{status::ok, c.req.version()};
    head.set(field::content_type, "text/event-stream");
    head.set(field::cache_control, "no-store");
    return imaging::http::StreamResponse{std::move(head), std::move(source)};
}

}  // namespace handlers

}  // namespace provisioner::server
