// The CLI's API client: errors decoded into one clear line, and where the token comes from.
#include <doctest/doctest.h>

#include <cstdlib>

#include "api_client.h"
#include "test_cli_fake.h"
#include "test_util.h"
#include "token.h"

using namespace clitest;
using namespace provisioner::cli;
using nlohmann::json;

namespace {

const std::string kServer = "http://127.0.0.1:8080";
const std::string kUrl = kServer + "/api/v1/hosts";

ApiResult decode(const ClientResponse& response, const TokenChoice& token = {"t", "--token"}) {
    return decode_response(response, kUrl, kServer, token);
}

// Sets or clears an environment variable for one test, and puts it back.
class ScopedEnv {
  public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        if (value)
            ::setenv(name, value, 1);
        else
            ::unsetenv(name);
    }
    ~ScopedEnv() {
        if (old_)
            ::setenv(name_, old_->c_str(), 1);
        else
            ::unsetenv(name_);
    }

  private:
    const char* name_;
    std::optional<std::string> old_;
};

void write_text(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path) << text;
}

}  // namespace

TEST_CASE("cli: API error JSON becomes its message") {
    auto r = decode(api_error(404, "not_found", "no host with MAC 52:54:00:00:00:09"));
    REQUIRE(!r.ok());
    CHECK(r.error().kind == ApiError::Kind::http);
    CHECK(r.error().status == 404);
    CHECK(r.error().code == "not_found");
    CHECK(r.error().message == "no host with MAC 52:54:00:00:00:09");
    CHECK(r.error().body["error"]["code"] == "not_found");
}

TEST_CASE("cli: an error that is not the API's JSON still says what happened") {
    ClientResponse proxy;
    proxy.transport_ok = true;
    proxy.status = 502;
    proxy.body = "<html>Bad Gateway</html>\nmore";
    auto r = decode(proxy);
    REQUIRE(!r.ok());
    CHECK(r.error().message == "HTTP 502 from http://127.0.0.1:8080: <html>Bad Gateway</html>");
    CHECK(r.error().body.is_null());
}

TEST_CASE("cli: an unreachable server names the URL and what to check") {
    auto r = decode(unreachable(kUrl));
    REQUIRE(!r.ok());
    CHECK(r.error().kind == ApiError::Kind::transport);
    CHECK(r.error().message ==
          "cannot reach provisionerd at http://127.0.0.1:8080 (connecting: Connection refused); "
          "check --server or $PROVISIONER_SERVER, and that provisionerd is running");
}

TEST_CASE("cli: a 401 says the token was refused and where it came from") {
    auto r =
        decode(api_error(401, "unauthorized", "not a valid token"), {"abc", "/etc/prov/token"});
    REQUIRE(!r.ok());
    CHECK(r.error().message ==
          "provisionerd refused the token from /etc/prov/token (not a valid token)");
    r = decode(api_error(401, "unauthorized", "no token"), {});
    REQUIRE(!r.ok());
    CHECK(r.error().message ==
          "provisionerd wants an API token and none was given (no token); pass --token, or set "
          "$PROVISIONER_TOKEN or $PROVISIONER_TOKEN_FILE");
}

TEST_CASE("cli: success bodies decode; a 204 is null; a non-JSON 200 is an error") {
    auto r = decode(json_response(200, {{"ok", true}}));
    REQUIRE(r.ok());
    CHECK(r.json()["ok"] == true);
    ClientResponse empty;
    empty.transport_ok = true;
    empty.status = 204;
    r = decode(empty);
    REQUIRE(r.ok());
    CHECK(r.json().is_null());
    ClientResponse garbage = empty;
    garbage.status = 200;
    garbage.body = "hello";
    r = decode(garbage);
    REQUIRE(!r.ok());
    CHECK(r.error().kind == ApiError::Kind::bad_response);
}

TEST_CASE("cli: a failed command prints one error line and exits 1") {
    FakeServer server;
    server.responses.push_back(api_error(409, "illegal_transition", "h1 is ready, not discovered"));
    auto r = run_cli(server, {"host", "accept", "h1"});
    CHECK(r.status == 1);
    CHECK(r.out == "");
    CHECK(r.err == "provisioner: error: h1 is ready, not discovered\n");

    auto down = run_cli(server, {"--server", "http://10.9.9.9:81", "image", "list"});
    CHECK(down.status == 1);
    CHECK(
        down.err.starts_with("provisioner: error: cannot reach provisionerd at "
                             "http://10.9.9.9:81 ("));
}

TEST_CASE("cli: host import reports every bad line and that nothing was imported") {
    testutil::TempDir dir;
    write_text(dir / "hosts.csv", "mac,name\nzz,h1\n52:54:00:00:00:02,h2\nxx,h3\n");
    FakeServer server;
    json error = {
        {"error", {{"code", "invalid_argument"}, {"message", "2 bad lines"}}},
        {"lines",
         {{{"line", 2}, {"message", "bad MAC 'zz'"}}, {{"line", 4}, {"message", "bad MAC 'xx'"}}}}};
    server.responses.push_back(json_response(400, error));
    std::string file = (dir / "hosts.csv").string();
    auto r = run_cli(server, {"host", "import", file});
    CHECK(r.status == 1);
    CHECK(r.err == file + ":2: bad MAC 'zz'\n" + file + ":4: bad MAC 'xx'\n" +
                       "provisioner: error: 2 bad lines; nothing was imported\n");
    REQUIRE(server.requests.size() == 1);
    CHECK(server.requests[0].content_type == "text/csv");
    CHECK(server.requests[0].body == "mac,name\nzz,h1\n52:54:00:00:00:02,h2\nxx,h3\n");

    server.responses.push_back(json_response(200, {{"imported", 2}}));
    r = run_cli(server, {"host", "import", "-"}, false, "mac,name\n");
    CHECK(r.status == 0);
    CHECK(r.out == "imported 2 hosts from <stdin>\n");
    CHECK(server.requests[1].body == "mac,name\n");

    r = run_cli(server, {"host", "import", (dir / "missing.csv").string()});
    CHECK(r.status == 1);
    CHECK(r.err.find("cannot read") != std::string::npos);
}

TEST_CASE("cli: token resolution order") {
    testutil::TempDir dir;
    std::string default_file = (dir / "operator.token").string();
    std::string named_file = (dir / "named.token").string();
    write_text(default_file, "default-token\n");
    write_text(named_file, "  named-token\n");
    ScopedEnv token_env("PROVISIONER_TOKEN", "env-token");
    ScopedEnv file_env("PROVISIONER_TOKEN_FILE", named_file.c_str());

    auto t = resolve_token("flag-token", default_file);
    REQUIRE(t);
    CHECK(t->token == "flag-token");
    CHECK(t->origin == "--token");

    t = resolve_token("", default_file);
    REQUIRE(t);
    CHECK(t->token == "env-token");
    CHECK(t->origin == "$PROVISIONER_TOKEN");

    ::unsetenv("PROVISIONER_TOKEN");
    t = resolve_token("", default_file);
    REQUIRE(t);
    CHECK(t->token == "named-token");
    CHECK(t->origin == named_file);

    ::unsetenv("PROVISIONER_TOKEN_FILE");
    t = resolve_token("", default_file);
    REQUIRE(t);
    CHECK(t->token == "default-token");
    CHECK(t->origin == default_file);

    t = resolve_token("", (dir / "absent").string());
    REQUIRE(t);
    CHECK(t->token.empty());
}

TEST_CASE("cli: a token file the user named must be readable and not empty") {
    testutil::TempDir dir;
    ScopedEnv token_env("PROVISIONER_TOKEN", nullptr);
    std::string missing = (dir / "missing").string();
    {
        ScopedEnv file_env("PROVISIONER_TOKEN_FILE", missing.c_str());
        auto t = resolve_token("", kDefaultTokenFile);
        REQUIRE(!t);
        CHECK(t.status().message() ==
              "$PROVISIONER_TOKEN_FILE: reading " + missing + ": No such file or directory");
    }
    std::string empty = (dir / "empty").string();
    write_text(empty, "\n");
    ScopedEnv file_env("PROVISIONER_TOKEN_FILE", empty.c_str());
    auto t = resolve_token("", kDefaultTokenFile);
    REQUIRE(!t);
    CHECK(t.status().message().find("is empty") != std::string::npos);
}
