// What a command runs with once the command line is parsed: the API client, the environment,
// and the output conventions every command shares (--json, one-line errors, exit statuses).
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "api_client.h"
#include "environment.h"

namespace provisioner::cli {

// Exit statuses: 0 success, 1 the API or the network failed (or a watched deployment did not
// succeed), 2 the command line was wrong.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

class Session {
  public:
    Session(ApiClient api, const Environment& env, bool json)
        : api_(std::move(api)), env_(env), json_(json) {}

    const ApiClient& api() const { return api_; }
    const Environment& env() const { return env_; }
    std::ostream& out() const { return *env_.out; }
    std::ostream& err() const { return *env_.err; }
    bool json() const { return json_; }

    // Prints "provisioner: error: <message>" on stderr; returns kExitFailure.
    int fail(const std::string& message) const;
    // As fail(error.message); with --json, the API's error document also goes to stdout so
    // that a script reads one document either way.
    int fail(const ApiError& error) const;
    // Prints the document (pretty, with a final newline) on stdout; returns kExitOk.
    int print_json(const nlohmann::json& document) const;

  private:
    ApiClient api_;
    const Environment& env_;
    bool json_;
};

// The line every CLI error is: "provisioner: error: <message>\n".
void print_error(std::ostream& err, const std::string& message);

}  // namespace provisioner::cli
