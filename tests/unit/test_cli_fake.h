// A fake provisionerd for the CLI's unit tests: it records each request and answers from a
// queue (an exhausted queue answers as an unreachable server), with run_cli driven in memory.
#pragma once

#include <chrono>
#include <deque>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "app.h"
#include "base/clock.h"
#include "environment.h"

namespace clitest {

using imaging::http::ClientRequest;
using imaging::http::ClientResponse;

inline ClientResponse json_response(unsigned status, const nlohmann::json& body) {
    ClientResponse r;
    r.transport_ok = true;
    r.status = status;
    r.content_type = "application/json";
    r.body = body.dump();
    return r;
}

inline ClientResponse api_error(unsigned status, const std::string& code,
                                const std::string& message) {
    return json_response(status, {{"error", {{"code", code}, {"message", message}}}});
}

inline ClientResponse unreachable(const std::string& url) {
    ClientResponse r;
    r.error = url + ": connecting: Connection refused";
    return r;
}

struct FakeServer {
    std::deque<ClientResponse> responses;
    std::vector<ClientRequest> requests;

    provisioner::cli::HttpFunction http() {
        return [this](const ClientRequest& request) {
            requests.push_back(request);
            if (responses.empty()) return unreachable(request.url);
            ClientResponse r = responses.front();
            responses.pop_front();
            return r;
        };
    }
};

struct CliRun {
    int status = -1;
    std::string out;
    std::string err;
    int sleeps = 0;
};

// Runs the CLI with a token given on the command line, so that the environment of the test
// process does not matter; time advances only when the CLI sleeps.
// Time moves only when the CLI sleeps, and each sleep is counted.
class SleepCountingClock final : public base::Clock {
  public:
    explicit SleepCountingClock(int& sleeps) : sleeps_(sleeps) {}
    time_point now() override { return fake_.now(); }
    wall_time_point wall_now() override { return fake_.wall_now(); }
    void sleep_for(std::chrono::milliseconds d) override {
        fake_.advance(d);
        ++sleeps_;
    }

  private:
    base::FakeClock fake_;
    int& sleeps_;
};

inline CliRun run_cli(FakeServer& server, std::vector<std::string> args, bool tty = false,
                      const std::string& stdin_text = "") {
    std::ostringstream out, err;
    std::istringstream in(stdin_text);
    CliRun result;
    SleepCountingClock clock(result.sleeps);
    provisioner::cli::Environment env;
    env.out = &out;
    env.err = &err;
    env.in = &in;
    env.http = server.http();
    env.out_is_tty = tty;
    env.clock = &clock;
    env.default_token_file = "/nonexistent/provisioner-test/operator.token";
    args.insert(args.begin(), {"--token", "T0K"});
    result.status = provisioner::cli::run_cli(args, env);
    result.out = out.str();
    result.err = err.str();
    return result;
}

}  // namespace clitest
