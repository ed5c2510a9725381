// provisioner-agent guest: SMBIOS OEM strings, the environment file, the install command, and
// whole rounds against a scripted server with real install commands and a real listening
// socket on 127.0.0.1.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "base/process.h"
#include "provisioner/agent/guest.h"
#include "provisioner/agent/smbios.h"
#include "test_agent_fake.h"
#include "test_util.h"

using namespace provisioner::agent;
using json = nlohmann::json;
using imaging::http::ClientRequest;
using imaging::http::ClientResponse;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

using agent_test::reply;
using agent_test::unreachable;

// A type-11 structure: header (type, length 5, handle 0x1234), the count, the string set.
std::string oem_entry(const std::vector<std::string>& strings) {
    std::string raw{'\x0b', '\x05', '\x34', '\x12', char(strings.size())};
    for (const auto& s : strings) raw += s + '\0';
    raw += '\0';
    if (strings.empty()) raw += '\0';
    return raw;
}

void write_text(const fs::path& file, const std::string& text) {
    fs::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << text;
}

std::string read_text(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// The value of one NAME=VALUE line as systemd's EnvironmentFile= parser reads it: the states of
// parse_env_file_internal() in systemd's src/basic/env-file.c (v254), for a single line.
std::string systemd_value(std::string_view line) {
    enum {
        pre_value,
        value,
        value_escape,
        single_quote,
        double_quote,
        double_escape
    } state = pre_value;
    const std::string_view need_escape = "\"\\`$";  // SHELL_NEED_ESCAPE
    std::string out;
    std::size_t trailing_space = std::string::npos;
    for (char c : line.substr(line.find('=') + 1)) {
        switch (state) {
            case pre_value:
                if (c == '\'')
                    state = single_quote;
                else if (c == '"')
                    state = double_quote;
                else if (c == '\\')
                    state = value_escape;
                else if (c != ' ' && c != '\t') {
                    state = value;
                    out += c;
                }
                break;
            case value:
                if (c == '\\') {
                    state = value_escape;
                    trailing_space = std::string::npos;
                } else {
                    if (c != ' ' && c != '\t')
                        trailing_space = std::string::npos;
                    else if (trailing_space == std::string::npos)
                        trailing_space = out.size();
                    out += c;
                }
                break;
            case value_escape:
                state = value;
                out += c;
                break;
            case single_quote:
                if (c == '\'')
                    state = pre_value;
                else
                    out += c;
                break;
            case double_quote:
                if (c == '"')
                    state = pre_value;
                else if (c == '\\')
                    state = double_escape;
                else
                    out += c;
                break;
            case double_escape:
                state = double_quote;
                if (need_escape.find(c) == std::string_view::npos) out += '\\';
                out += c;
                break;
        }
    }
    if (state == value && trailing_space != std::string::npos) out.resize(trailing_space);
    return out;
}

// Time that passes only when slept.
using GuestClock = base::FakeClock;

// Answers each report with `wanted` (unless `down` or `refuse`), recording every body.
struct GuestServer {
    json wanted = json::array();
    int down = 0;  // this many reports find the server unreachable
    bool refuse = false;
    std::vector<json> reports;
    std::vector<std::string> tokens;

    ClientResponse operator()(const ClientRequest& request) {
        if (down > 0) {
            --down;
            return unreachable();
        }
        if (refuse)
            return reply(401, {{"error", {{"code", "unauthorized"}, {"message", "bad token"}}}});
        REQUIRE(request.url == "http://10.0.0.1:8080/api/v1/guest/report");
        for (const auto& [name, value] : request.headers) {
            if (name == "Authorization") tokens.push_back(value);
        }
        reports.push_back(json::parse(request.body));
        return reply(200, {{"services", wanted}, {"interval", 30}});
    }
    // The state of `package` in each report that lists it.
    std::vector<std::string> states(const std::string& package) const {
        std::vector<std::string> out;
        for (const json& r : reports) {
            for (const json& s : r["services"]) {
                if (s["package"] == package) out.push_back(s["state"]);
            }
        }
        return out;
    }
};

json service(const std::string& package,
             const std::vector<std::pair<std::string, std::string>>& parameters = {}) {
    json p = json::array();
    for (const auto& [name, value] : parameters) p.push_back({{"name", name}, {"value", value}});
    return {{"package", package}, {"parameters", p}};
}

// An agent in a temporary root with `install` as its install command.
struct GuestFixture {
    testutil::TempDir dir;
    GuestServer server;
    GuestClock clock;
    std::vector<std::string> lines;
    ServerClient client{"http://10.0.0.1:8080", "g_secret",
                        [this](const ClientRequest& r) { return server(r); }};

    GuestOptions options(const std::string& install) {
        GuestOptions o;
        o.vm = "web1";
        o.root = dir.path() / "root";
        o.install_command = install;
        o.interval = 0ms;
        o.check_timeout = 2s;
        o.address = [] { return std::string("10.0.0.5"); };
        o.log = [this](const std::string& line) { lines.push_back(line); };
        return o;
    }
    fs::path script(const std::string& body) {
        fs::path file = dir.path() / "install.sh";
        write_text(file, body);
        return file;
    }
};

// A socket listening on 127.0.0.1 at a free port (connections wait in its backlog).
struct Listener {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    std::uint16_t port = 0;
    Listener() {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(fd, 16) == 0);
        socklen_t length = sizeof a;
        REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length) == 0);
        port = ntohs(a.sin_port);
    }
    ~Listener() { close(); }
    void close() {
        if (fd >= 0) ::close(fd), fd = -1;
    }
};

}  // namespace

TEST_CASE("guest: SMBIOS type 11 strings are parsed") {
    auto good = parse_smbios_oem_strings(
        oem_entry({"provisioner.server=http://10.0.0.1:8080", "provisioner.guest=web1"}));
    REQUIRE(good);
    CHECK(*good == std::vector<std::string>{"provisioner.server=http://10.0.0.1:8080",
                                            "provisioner.guest=web1"});

    auto none = parse_smbios_oem_strings(oem_entry({}));
    REQUIRE(none);
    CHECK(none->empty());

    std::string truncated = oem_entry({"provisioner.guest=web1"});
    truncated.resize(truncated.size() - 3);  // cut inside the string
    auto cut = parse_smbios_oem_strings(truncated);
    REQUIRE_FALSE(cut);
    CHECK(cut.status().message().find("not terminated") != std::string::npos);

    std::string unterminated_set = oem_entry({"a=b"});
    unterminated_set.pop_back();  // the set's closing NUL
    CHECK_FALSE(parse_smbios_oem_strings(unterminated_set));

    std::string wrong_type = oem_entry({"a=b"});
    wrong_type[0] = 1;
    auto type1 = parse_smbios_oem_strings(wrong_type);
    REQUIRE_FALSE(type1);
    CHECK(type1.status().message().find("type 1,") != std::string::npos);

    CHECK_FALSE(parse_smbios_oem_strings(std::string("\x0b\x05\x00", 3)));
    std::string long_header = oem_entry({"a=b"});
    long_header[1] = 40;  // formatted area longer than the entry
    CHECK_FALSE(parse_smbios_oem_strings(long_header));
}

TEST_CASE("guest: settings come from SMBIOS entries, else the command line") {
    testutil::TempDir dir;
    fs::path entries = dir / "entries";
    write_text(entries / "11-0/raw", oem_entry({"provisioner.server=http://10.0.0.1:8080",
                                                "provisioner.guest=web1 provisioner.token=g_1"}));
    write_text(entries / "1-0/raw", oem_entry({"provisioner.guest=not-this-one"}));
    write_text(entries / "11-1/raw", "\x0b\x05");  // short: skipped
    auto settings = read_smbios_oem_settings(entries);
    CHECK(settings.at("provisioner.guest") == "web1");
    CHECK(settings.at("provisioner.token") == "g_1");

    write_text(dir / "cmdline",
               "quiet provisioner.server=http://10.9.9.9 provisioner.guest=db1 "
               "provisioner.token=g_2\n");
    auto from_smbios = resolve_guest_identity({}, "", entries, dir / "cmdline");
    REQUIRE(from_smbios);
    CHECK(from_smbios->server == "http://10.0.0.1:8080");
    CHECK(from_smbios->vm == "web1");

    // No provisioner.* OEM string: /proc/cmdline.
    auto from_proc = resolve_guest_identity({}, "", dir / "no-entries", dir / "cmdline");
    REQUIRE(from_proc);
    CHECK(from_proc->vm == "db1");
    CHECK(from_proc->token == "g_2");

    // --cmdline FILE wins over SMBIOS; flags over both.
    auto from_file = resolve_guest_identity({"", "flag-vm", ""}, (dir / "cmdline").string(),
                                            entries, dir / "missing");
    REQUIRE(from_file);
    CHECK(from_file->server == "http://10.9.9.9");
    CHECK(from_file->vm == "flag-vm");

    write_text(dir / "partial", "provisioner.server=http://10.0.0.1 provisioner.guest=web1");
    auto missing = resolve_guest_identity({}, (dir / "partial").string(), entries);
    REQUIRE_FALSE(missing);
    CHECK(missing.status().message().find("--token") != std::string::npos);
    CHECK(missing.status().message().find("provisioner.token") != std::string::npos);
}

TEST_CASE("guest: environment file names, quoting and atomic write") {
    CHECK(environment_name("port") == "PORT");
    CHECK(environment_name("listen-port") == "LISTEN_PORT");
    CHECK(environment_name("db.user name") == "DB_USER_NAME");
    CHECK(environment_name("9lives") == "_9LIVES");
    CHECK(environment_name("") == "_");
    CHECK(environment_name("caf\xc3\xa9") == "CAF__");
    CHECK(single_quote("it's") == "'it'\"'\"'s'");
    CHECK(render_environment_file({{"port", "8080"}, {"motd", "a b"}}) ==
          "PORT='8080'\nMOTD='a b'\n");

    testutil::TempDir dir;
    fs::path file = environment_file(dir.path(), "nginx");
    CHECK(file == dir.path() / "etc/provisioner/services/nginx.env");
    const std::string tricky = "it's $HOME `id` \\n \"q\"\nline two";
    REQUIRE(write_file_atomically(file, render_environment_file({{"motd", tricky}})));
    REQUIRE(write_file_atomically(file, render_environment_file({{"motd", tricky}, {"x", "1"}})));
    CHECK_FALSE(fs::exists(file.string() + ".tmp"));
    CHECK(std::distance(fs::directory_iterator(file.parent_path()), fs::directory_iterator()) == 1);
    CHECK(read_text(file) == "MOTD=" + single_quote(tricky) + "\nX='1'\n");

    // systemd reads the value back exactly (no newline here: it ends a line for the sketch above),
    // while the usual '\'' would leave it quotes.
    const std::string quotes = "it's a \"q\" \\ $HOME 'x'";
    CHECK(systemd_value("A=" + single_quote(quotes)) == quotes);
    CHECK(systemd_value("A='it'\\''s'") == "it''s'");

    // sh reads the value back exactly.
    auto rc = base::run_process(
        {"/bin/sh", "-c", ". \"$0\"; printf '%s|' \"$MOTD\" \"$X\"", file.string()});
    REQUIRE(rc);
    CHECK(rc->exit_code == 0);
    CHECK(rc->out == tricky + "|1|");
}

TEST_CASE("guest: package names and install command words") {
    CHECK(is_safe_package_name("nginx"));
    CHECK(is_safe_package_name("libstdc++6"));
    CHECK(is_safe_package_name("python3.11-venv"));
    CHECK_FALSE(is_safe_package_name(""));
    CHECK_FALSE(is_safe_package_name("../etc/passwd"));
    CHECK_FALSE(is_safe_package_name("-rf"));
    CHECK_FALSE(is_safe_package_name("a b"));
    CHECK_FALSE(is_safe_package_name("a/b"));

    CHECK(install_command_words(kDefaultInstallCommand, "nginx", "/", "/e") ==
          std::vector<std::string>{"apt-get", "install", "-y", "--no-install-recommends", "nginx"});
    CHECK(install_command_words("  inst  --root={root} --env {env}\t{package}/{package} ", "p",
                                "/r", "/r/p.env") ==
          std::vector<std::string>{"inst", "--root=/r", "--env", "/r/p.env", "p/p"});
    CHECK(install_command_words("x {unknown}", "p", "/", "/e") ==
          std::vector<std::string>{"x", "{unknown}"});

    CHECK(find_program("sh"));
    CHECK_FALSE(find_program("no-such-installer-here"));
    CHECK_FALSE(find_program("/nonexistent/installer"));
    CHECK(parse_service_port("8080"));
    CHECK_FALSE(parse_service_port("0"));
    CHECK_FALSE(parse_service_port("65536"));
    CHECK_FALSE(parse_service_port("80a"));
    CHECK_FALSE(parse_service_port(""));
}

TEST_CASE("guest: a round installs a service and reports each state") {
    GuestFixture f;
    fs::path seen = f.dir / "seen";
    fs::path script = f.script(
        "printf '%s %s %s %s %s\\n' \"$PROVISIONER_SERVICE\" \"$GREETING\" "
        "\"$DEBIAN_FRONTEND\" \"$1\" \"$PATH\" > " +
        seen.string() + "\n");
    f.server.wanted = json::array(
        {service("hello", {{"greeting", "it's me"},
                           {"provisioner_service", "not this"},
                           {"path", "/nowhere"}})});
    GuestAgent agent(f.options("/bin/sh " + script.string() + " {env}"), f.client, f.clock);
    GuestRound r = agent.round();

    CHECK(r.answered);
    CHECK(r.delivered);
    CHECK(r.wanted == 1);
    CHECK(r.available == 1);
    // The first report knows nothing yet; then one report per change.
    REQUIRE(f.server.reports.size() == 3);
    CHECK(f.server.reports[0]["services"].empty());
    CHECK(f.server.reports[0]["vm"] == "web1");
    CHECK(f.server.reports[0]["address"] == "10.0.0.5");
    CHECK(f.server.states("hello") ==
          std::vector<std::string>{"container_ready", "service_available"});
    CHECK_FALSE(f.server.reports[2]["services"][0].contains("access"));  // no port
    CHECK(f.server.tokens.front() == "Bearer g_secret");
    fs::path env = f.dir / "root/etc/provisioner/services/hello.env";
    CHECK(read_text(env) ==
          "GREETING='it'\"'\"'s me'\nPROVISIONER_SERVICE='not this'\nPATH='/nowhere'\n");
    // The service gets PATH in its file; the installer keeps its own.
    CHECK(read_text(seen) == "hello it's me noninteractive " + env.string() + " " +
                                 std::string(std::getenv("PATH")) + "\n");
    CHECK(f.lines == std::vector<std::string>{
                         "web1: hello: container ready",
                         "web1: hello: installing: /bin/sh " + script.string() + " " + env.string(),
                         "web1: hello: service available"});

    // Available and unchanged: not installed again; no longer wanted: forgotten.
    fs::remove(seen);
    r = agent.round();
    CHECK(r.available == 1);
    CHECK_FALSE(fs::exists(seen));
    CHECK(f.server.reports.size() == 4);
    f.server.wanted = json::array();
    r = agent.round();
    CHECK(r.wanted == 0);
    CHECK(agent.services().empty());
    CHECK(fs::exists(env));  // not uninstalled
}

TEST_CASE("guest: a failing install reports its exit status and last output") {
    GuestFixture f;
    fs::path script = f.script(
        "echo 'Reading package lists...'\necho 'E: Unable to locate "
        "package nosuch' >&2\nexit 3\n");
    f.server.wanted = json::array({service("nosuch")});
    GuestAgent agent(f.options("/bin/sh " + script.string()), f.client, f.clock);
    GuestRound r = agent.round();
    CHECK(r.failed == 1);
    CHECK(f.server.states("nosuch") == std::vector<std::string>{"container_ready", "failed"});
    const json& last = f.server.reports.back()["services"][0];
    CHECK(last["error"] ==
          "install command exited with 3: Reading package lists... | E: Unable "
          "to locate package nosuch");

    // Tried again next round, from the start.
    agent.round();
    CHECK(f.server.states("nosuch") == std::vector<std::string>{"container_ready", "failed",
                                                                "failed", "container_ready",
                                                                "failed"});
}

TEST_CASE("guest: an installer's long or non-UTF-8 output still makes a report") {
    GuestFixture f;
    fs::path script = f.script(
        "i=0; while [ $i -lt 3000 ]; do echo x; i=$((i+1)); done\n"
        "printf 'bad \\377\\376 bytes\\n'; exit 5\n");
    f.server.wanted = json::array({service("noisy")});
    GuestAgent agent(f.options("/bin/sh " + script.string()), f.client, f.clock);
    GuestRound r = agent.round();
    CHECK(r.failed == 1);
    CHECK(r.delivered);
    std::string error = f.server.reports.back()["services"][0]["error"];
    CHECK(error.starts_with("install command exited with 5: ..."));
    CHECK(error.ends_with("x | x | bad \xef\xbf\xbd\xef\xbf\xbd bytes"));  // U+FFFD twice
    CHECK(error.size() < 4096);
}

TEST_CASE("guest: refused before container_ready") {
    GuestFixture f;
    f.server.wanted = json::array(
        {service("../../etc/passwd"), service("web", {{"port", "http"}}), service("gone")});
    GuestAgent agent(f.options("/nonexistent/installer {package}"), f.client, f.clock);
    GuestRound r = agent.round();
    CHECK(r.failed == 3);
    const json& s = f.server.reports.back()["services"];
    CHECK(s[0]["error"].get<std::string>().find("not a safe file name") != std::string::npos);
    CHECK(s[1]["error"] == "port must be a number from 1 to 65535, not \"http\"");
    CHECK(s[2]["error"] == "the installer /nonexistent/installer is missing or not executable");
    CHECK(f.server.states("gone") == std::vector<std::string>{"vm_ready", "vm_ready", "failed"});
    CHECK_FALSE(fs::exists(f.dir / "root/etc/passwd.env"));
    CHECK_FALSE(fs::exists(f.dir / "etc/passwd.env"));
}

TEST_CASE("guest: a port must answer on 127.0.0.1") {
    GuestFixture f;
    Listener listener;
    std::string port = std::to_string(listener.port);
    f.server.wanted = json::array({service("web", {{"port", port}})});
    GuestAgent agent(f.options("true"), f.client, f.clock);
    GuestRound r = agent.round();
    CHECK(r.available == 1);
    CHECK(f.server.reports.back()["services"][0]["access"] == "10.0.0.5:" + port);
    CHECK(f.lines.back() == "web1: web: service available at 10.0.0.5:" + port);

    // It stops answering: back through the steps, and nothing listens within the timeout.
    listener.close();
    r = agent.round();
    CHECK(r.failed == 1);
    CHECK(f.server.states("web") == std::vector<std::string>{"container_ready", "service_available",
                                                             "service_available", "container_ready",
                                                             "failed"});
    CHECK(f.server.reports.back()["services"][0]["error"] ==
          "nothing listens on port " + port + " after 2 s");
}

TEST_CASE("guest: a hung installer is killed") {
    GuestFixture f;
    f.server.wanted = json::array({service("slow")});
    GuestOptions o = f.options("sleep 30");
    o.install_timeout = 300ms;
    GuestAgent agent(o, f.client, f.clock);
    auto start = std::chrono::steady_clock::now();
    GuestRound r = agent.round();
    CHECK(std::chrono::steady_clock::now() - start < 10s);
    CHECK(r.failed == 1);
    CHECK(f.server.reports.back()["services"][0]["error"].get<std::string>().find(
              "did not finish within") != std::string::npos);
}

TEST_CASE("guest: --once exit status") {
    SUBCASE("all available after the server comes back") {
        GuestFixture f;
        f.server.down = 2;
        f.server.wanted = json::array({service("a"), service("b")});
        GuestOptions o = f.options("true");
        o.once = true;
        GuestAgent once(o, f.client, f.clock);
        CHECK(once.run() == 0);
        CHECK(f.server.states("b") == std::vector<std::string>{"vm_ready", "vm_ready",
                                                               "container_ready",
                                                               "service_available"});
        CHECK(f.lines.front().starts_with("web1: report: "));
    }
    SUBCASE("nothing wanted") {
        GuestFixture f;
        GuestOptions o = f.options("true");
        o.once = true;
        GuestAgent agent(o, f.client, f.clock);
        CHECK(agent.run() == 0);
    }
    SUBCASE("one failed") {
        GuestFixture f;
        f.server.wanted = json::array({service("a"), service("b")});
        GuestOptions o = f.options("false");
        o.once = true;
        GuestAgent agent(o, f.client, f.clock);
        CHECK(agent.run() == 1);
        CHECK(f.server.reports.back()["services"][1]["state"] == "failed");
    }
    SUBCASE("refused") {
        GuestFixture f;
        f.server.refuse = true;
        GuestOptions o = f.options("true");
        o.once = true;
        GuestAgent agent(o, f.client, f.clock);
        CHECK(agent.run() == 1);
        CHECK(f.lines.back().find("401") != std::string::npos);
    }
    SUBCASE("stopped") {
        GuestFixture f;
        f.server.down = 1000;
        GuestOptions o = f.options("true");
        o.once = true;
        std::atomic<bool> stop{true};
        GuestAgent agent(o, f.client, f.clock);
        CHECK(agent.run(&stop) == 1);
    }
}
