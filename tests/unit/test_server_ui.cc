// The web UI's server side: sessions (sign-in with an operator token only, expiry, sign-out,
// revocation, tampering), CSRF on state-changing requests made with the cookie, the UI's
// files, and the live feed's messages (events, changes, keep-alive, a slow reader ended).
#include <doctest/doctest.h>

#include <utility>

#include "api_ui.h"
#include "provisioner/ui/assets.h"
#include "test_server_fixture.h"
#include "ui_feed.h"
#include "ui_sessions.h"

using namespace servertest;
using namespace std::chrono_literals;

namespace {

struct Sessions {
    Server server;
    base::FakeClock clock;
    std::string secret = server.auth->secret();
    UiSessions sessions{*server.store, *server.auth, secret, clock, 1h};
};

// A request as a browser sends it: the cookie, and the CSRF header when given.
imaging::http::Response browser(Server& s, bhttp::verb method, const std::string& target,
                                const std::string& cookie, const std::string& csrf = "",
                                const std::string& body = "", bool secure = false) {
    imaging::http::Request req{method, target, 11};
    if (!cookie.empty())
        req.set(bhttp::field::cookie, "theme=dark; provisioner_session=" + cookie + "; x=1");
    if (!csrf.empty()) req.set("X-CSRF-Token", csrf);
    req.body() = body;
    req.prepare_payload();
    imaging::http::RequestContext ctx;
    ctx.secure = secure;
    return s.router.route(req, ctx).into_text();
}

// The value the Set-Cookie header gives the session cookie.
std::string cookie_of(const imaging::http::Response& res) {
    std::string header(res[bhttp::field::set_cookie]);
    return UiSessions::cookie_value(header.substr(0, header.find(';')));
}

// Reads a feed's stream as a session does: asks for the next piece as soon as one arrives.
struct Reader {
    explicit Reader(std::shared_ptr<imaging::http::StreamSource> s) : stream(std::move(s)) {
        ask();
    }
    void ask() {
        stream->next([this](std::optional<std::string> piece) {
            if (!piece) {
                got += "<end>";
                return;
            }
            got += *piece;
            ask();
        });
    }
    std::string take() { return std::exchange(got, ""); }
    std::shared_ptr<imaging::http::StreamSource> stream;
    std::string got;
};

}  // namespace

TEST_CASE("ui sessions: an operator token signs in; the session expires") {
    Sessions t;
    auto s = t.sessions.sign_in(t.server.token);
    REQUIRE_MESSAGE(s.is_ok(), s.status().message());
    CHECK(s->name == "admin");
    auto checked = t.sessions.check(s->cookie);
    REQUIRE(checked);
    CHECK(checked->name == "admin");
    CHECK(checked->csrf == s->csrf);
    CHECK(s->csrf != s->cookie);
    t.clock.advance(59min);
    CHECK(t.sessions.check(s->cookie));
    t.clock.advance(1min);
    CHECK(!t.sessions.check(s->cookie));
}

TEST_CASE("ui sessions: host, guest and unknown tokens cannot sign in") {
    Sessions t;
    Host h = add_test_host(*t.server.store, "h1", 1);
    auto dom0 = t.server.auth->dom0_token(h);
    REQUIRE(dom0.is_ok());
    auto refused = t.sessions.sign_in(*dom0);
    REQUIRE(!refused.is_ok());
    CHECK(refused.status().message().find("a host's token cannot sign in") != std::string::npos);
    refused = t.sessions.sign_in(t.server.auth->guest_token("web1"));
    REQUIRE(!refused.is_ok());
    CHECK(refused.status().message().find("a guest's token cannot sign in") != std::string::npos);
    refused = t.sessions.sign_in("op_" + std::string(64, '0'));
    REQUIRE(!refused.is_ok());
    CHECK(refused.status().message() == "this token is not a valid operator token");
}

TEST_CASE("ui sessions: a tampered cookie, a revoked token and a sign-out are refused") {
    Sessions t;
    auto s = t.sessions.sign_in(t.server.token);
    REQUIRE(s.is_ok());
    std::string tampered = s->cookie;
    tampered[tampered.find('.') + 1] ^= 1;  // the token's created_at
    CHECK(!t.sessions.check(tampered));
    CHECK(!t.sessions.check(s->cookie.substr(0, s->cookie.size() - 1)));
    CHECK(!t.sessions.check(""));
    CHECK(!t.sessions.check("a.b.c.d.e.f"));

    t.clock.advance(1ms);
    auto other = t.sessions.sign_in(t.server.token);  // a second browser, same token
    REQUIRE(other.is_ok());
    t.clock.advance(1ms);
    REQUIRE(t.sessions.sign_out(*s).is_ok());
    CHECK(!t.sessions.check(s->cookie));
    CHECK(!t.sessions.check(other->cookie));  // sign-out ends the token's sessions so far
    t.clock.advance(1ms);
    auto again = t.sessions.sign_in(t.server.token);
    REQUIRE(again.is_ok());
    CHECK(t.sessions.check(again->cookie));

    auto ci = t.server.call_json(bhttp::verb::post, "/api/v1/tokens", R"({"name":"ci"})");
    REQUIRE(t.server.last_status == 201);
    auto ci_session = t.sessions.sign_in(ci["token"].get<std::string>());
    REQUIRE(ci_session.is_ok());
    CHECK(t.sessions.check(ci_session->cookie));
    t.server.call(bhttp::verb::delete_, "/api/v1/tokens/ci");
    CHECK(!t.sessions.check(ci_session->cookie));
}

TEST_CASE("ui routes: sign in, the cookie's attributes, CSRF, sign out") {
    Server s;
    auto bad = browser(s, bhttp::verb::post, "/api/v1/session", "", "",
                       json{{"token", "op_nope"}}.dump());
    CHECK(bad.result_int() == 401);
    CHECK(bad[bhttp::field::set_cookie].empty());

    auto in = browser(s, bhttp::verb::post, "/api/v1/session", "", "",
                      json{{"token", s.token}}.dump(), true);
    REQUIRE(in.result_int() == 200);
    std::string set_cookie(in[bhttp::field::set_cookie]);
    CHECK(set_cookie.find("; HttpOnly") != std::string::npos);
    CHECK(set_cookie.find("; SameSite=Strict") != std::string::npos);
    CHECK(set_cookie.find("; Secure") != std::string::npos);
    CHECK(set_cookie.find("; Path=/") != std::string::npos);
    auto plain = browser(s, bhttp::verb::post, "/api/v1/session", "", "",
                         json{{"token", s.token}}.dump(), false);
    CHECK(std::string(plain[bhttp::field::set_cookie]).find("Secure") == std::string::npos);

    const std::string cookie = cookie_of(in);
    const std::string csrf = json::parse(in.body())["csrf"];
    REQUIRE(!cookie.empty());
    CHECK(browser(s, bhttp::verb::get, "/api/v1/hosts", cookie).result_int() == 200);
    auto who = json::parse(browser(s, bhttp::verb::get, "/api/v1/session", cookie).body());
    CHECK(who["name"] == "admin");
    CHECK(who["csrf"] == csrf);

    const std::string host = json{{"mac", "52:54:00:00:00:09"}, {"name", "n9"}}.dump();
    auto forged = browser(s, bhttp::verb::post, "/api/v1/hosts", cookie, "", host);
    CHECK(forged.result_int() == 403);
    CHECK(json::parse(forged.body())["error"]["code"] == "csrf");
    CHECK(browser(s, bhttp::verb::post, "/api/v1/hosts", cookie, "wrong", host).result_int() ==
          403);
    CHECK(s.store->list_hosts({})->empty());
    CHECK(browser(s, bhttp::verb::post, "/api/v1/hosts", cookie, csrf, host).result_int() == 201);

    CHECK(browser(s, bhttp::verb::delete_, "/api/v1/session", cookie).result_int() == 403);
    auto out = browser(s, bhttp::verb::delete_, "/api/v1/session", cookie, csrf);
    CHECK(out.result_int() == 200);
    CHECK(std::string(out[bhttp::field::set_cookie]).find("Max-Age=0") != std::string::npos);
    CHECK(browser(s, bhttp::verb::get, "/api/v1/hosts", cookie).result_int() == 401);
    // The API's bearer tokens are untouched by a browser's sign-out.
    CHECK(s.call(bhttp::verb::get, "/api/v1/hosts").result_int() == 200);
}

TEST_CASE("ui routes: the UI's files are served with a strict content security policy") {
    Server s;
    auto index = s.call(bhttp::verb::get, "/", "", "");
    REQUIRE(index.result_int() == 200);
    CHECK(std::string(index[bhttp::field::content_type]).starts_with("text/html"));
    CHECK(index.body().find("<script type=\"module\" src=\"/ui/app.js\">") != std::string::npos);
    std::string csp(index["Content-Security-Policy"]);
    CHECK(csp.find("default-src 'self'") != std::string::npos);
    CHECK(csp.find("script-src 'self'") != std::string::npos);
    auto app = s.call(bhttp::verb::get, "/ui/app.js", "", "");
    CHECK(app.result_int() == 200);
    CHECK(std::string(app[bhttp::field::content_type]).starts_with("text/javascript"));
    CHECK(s.call(bhttp::verb::get, "/ui/missing.js", "", "").result_int() == 404);
    CHECK(s.call(bhttp::verb::get, "/ui/../api/v1/hosts", "", "").result_int() == 404);
    for (const auto& asset : provisioner::ui::assets()) CHECK(!asset.body.empty());
}

TEST_CASE("ui feed: topics of the routes that change state") {
    CHECK(UiFeed::topics_of("/api/v1/hosts/import") == std::vector<std::string>{"hosts"});
    CHECK(UiFeed::topics_of("/api/v1/agent/progress") ==
          std::vector<std::string>{"deployments", "hosts"});
    CHECK(UiFeed::topics_of("/api/v1/vms/recall") == std::vector<std::string>{"site", "vms"});
    CHECK(UiFeed::topics_of("/api/v1/agent/vms") == std::vector<std::string>{"site", "vms"});
    CHECK(UiFeed::topics_of("/api/v1/session").empty());
}

TEST_CASE("ui feed: new events, changed topics and keep-alives reach every stream") {
    Server s;
    base::FakeClock clock;
    UiFeed feed(*s.store, clock, UiFeedLimits{2, 4, 250ms, 15s});
    add_test_host(*s.store, "before", 1);  // older than the streams: not sent
    auto quiet = feed.subscribe();          // never read, as a stalled client
    REQUIRE(quiet);
    Reader a(feed.subscribe());
    REQUIRE(a.stream);
    CHECK(!feed.subscribe());  // max_streams
    CHECK(a.take() == "retry: 2000\nevent: hello\ndata: {}\n\n");
    feed.poll();  // finds where the log ends
    CHECK(a.take().empty());

    Host h = add_test_host(*s.store, "h2", 2);
    feed.changed("/api/v1/hosts");
    feed.changed("/api/v1/deployments");
    feed.changed("/api/v1/session");  // changes nothing a page shows
    feed.poll();
    const std::string got = a.take();
    CHECK(got.find("event: event\ndata: {") != std::string::npos);
    CHECK(got.find("\"host\":" + std::to_string(h.id)) != std::string::npos);
    CHECK(got.find("event: change\ndata: {\"topics\":[\"deployments\",\"hosts\"]}\n\n") !=
          std::string::npos);

    feed.poll();
    CHECK(a.take().empty());
    clock.advance(15s);
    feed.poll();
    CHECK(a.take() == ": keep-alive\n\n");

    // The stalled stream holds hello, the event, the change and the keep-alive: its queue
    // (4) is full, so the next message ends it, and its place is free for another.
    CHECK(feed.streams() == 2);
    feed.changed("/api/v1/hosts");
    feed.poll();
    CHECK(a.take() == "event: change\ndata: {\"topics\":[\"hosts\"]}\n\n");
    CHECK(feed.streams() == 1);
    std::string stalled;
    quiet->next([&](std::optional<std::string> piece) { stalled = piece ? *piece : "<end>"; });
    CHECK(stalled == "<end>");
    CHECK(feed.subscribe());

    feed.stop();
    CHECK(a.take() == "<end>");
}
