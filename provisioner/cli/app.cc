#include "app.h"

#include <unistd.h>

#include <cmath>
#include <optional>
#include <ostream>

#include "command_suggest.h"
#include "commands.h"

#ifndef PROVISIONER_VERSION
#define PROVISIONER_VERSION "unknown"
#endif

namespace provisioner::cli {
namespace {

// The command table: each entry adds one top-level command (or group) to the tree.
constexpr void (*kCommands[])(CLI::App&, Action&) = {
    add_host_commands,   add_image_commands,      add_template_commands,
    add_deploy_commands, add_deployment_commands, add_events_command,
    add_token_commands,  add_site_commands,       add_vm_commands,
    add_top_command,     add_service_commands,
};

struct GlobalOptions {
    std::vector<std::string> servers{"https://127.0.0.1:8080"};
    std::string token;
    std::string ca;
    bool json = false;
    double timeout_seconds = 10;
};

void add_global_options(CLI::App& app, GlobalOptions& g) {
    app.add_option("--server", g.servers,
                   "provisionerd's URL; several (repeated, or URL,URL) for servers sharing "
                   "one database: the next is tried when one cannot be reached")
        ->envname("PROVISIONER_SERVER")
        ->delimiter(',')
        ->allow_extra_args(false)
        ->capture_default_str();
    app.add_option("--token", g.token,
                   "the API token; else $PROVISIONER_TOKEN, else the file named by "
                   "$PROVISIONER_TOKEN_FILE, else " +
                       std::string(kDefaultTokenFile) + " if readable");
    app.add_option("--ca", g.ca,
                   "the CA certificate (PEM) an https:// server must be signed by; else "
                   "$PROVISIONER_CA, else " +
                       std::string(kDefaultCaFile) +
                       " if readable, else the system's CAs")
        ->envname("PROVISIONER_CA");
    app.add_flag("--json", g.json,
                 "print the API's JSON document on stdout, for scripts (on an API error, its "
                 "error document)");
    app.add_option("--timeout", g.timeout_seconds, "seconds allowed for each request")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
}

// "provisioner host list", the deepest command the parser got to.
std::string parsed_path(const CLI::App& app) {
    std::string path = app.get_name();
    const CLI::App* node = &app;
    while (!node->get_subcommands().empty()) {
        node = node->get_subcommands().front();
        path += " " + node->get_name();
    }
    return path;
}

// Where args says "help" in place of a command (after any global options), if it does.
std::optional<std::size_t> help_command_at(const CLI::App& app,
                                           const std::vector<std::string>& args) {
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (!args[i].starts_with("-")) {
            if (args[i] == "help") return i;
            return std::nullopt;
        }
        const CLI::Option* opt = app.get_option_no_throw(args[i]);
        if (opt && opt->get_items_expected_max() > 0) ++i;
    }
    return std::nullopt;
}

}  // namespace

void on_run(CLI::App* cmd, Action& chosen, Action action) {
    cmd->callback([&chosen, action = std::move(action)] { chosen = action; });
}

int run_cli(const std::vector<std::string>& args, const Environment& env) {
    CLI::App app{
        "The provisioner CLI: enrol hosts, import images, deploy them, and follow what "
        "happens, through provisionerd's HTTP API."};
    app.name("provisioner");
    // Inherited by every command added below; the top level gets its own after them.
    app.footer(
        "Global options, given before or after the command (see 'provisioner --help'): "
        "--server URL, --token TOKEN, --ca FILE, --json, --timeout SECONDS.\n");
    app.set_version_flag("--version", std::string("provisioner ") + PROVISIONER_VERSION);
    GlobalOptions globals;
    add_global_options(app, globals);
    app.fallthrough();
    app.require_subcommand(1);
    Action chosen;
    for (auto add : kCommands) add(app, chosen);
    app.footer(
        "Run 'provisioner COMMAND --help' for a command's options. Exit status: 0 success, 1 "
        "the API or the network failed (or a watched deployment did not succeed), 2 a usage "
        "error.\n");

    std::vector<std::string> argv_reversed(args.rbegin(), args.rend());
    if (auto help = help_command_at(app, args)) {  // "provisioner help host" = "host --help"
        argv_reversed.erase(argv_reversed.end() - 1 - static_cast<std::ptrdiff_t>(*help));
        argv_reversed.insert(argv_reversed.begin(), "--help");
    }
    try {
        app.parse(argv_reversed);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e, *env.out, *env.err);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e, *env.out, *env.err);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e, *env.out, *env.err);
    } catch (const CLI::ParseError& e) {
        if (auto problem = find_command_problem(app, args)) {
            if (args.empty()) {
                *env.err << app.help();
                return kExitUsage;
            }
            print_error(*env.err, describe(*problem));
        } else {
            print_error(*env.err,
                        std::string(e.what()) + "; see '" + parsed_path(app) + " --help'");
        }
        return kExitUsage;
    }
    if (!chosen) {
        *env.err << app.help();
        return kExitUsage;
    }

    for (const std::string& server : globals.servers) {
        if (!imaging::http::parse_http_url(server)) {
            print_error(*env.err, "--server wants an https://HOST[:PORT] (or http://) URL, not '" +
                                      server + "'");
            return kExitUsage;
        }
    }
    if (globals.servers.empty()) {
        print_error(*env.err, "--server wants at least one URL");
        return kExitUsage;
    }
    if (!globals.ca.empty() && ::access(globals.ca.c_str(), R_OK) != 0) {
        print_error(*env.err, "cannot read the CA file " + globals.ca + " (--ca or $PROVISIONER_CA)");
        return kExitFailure;
    }
    auto token = resolve_token(globals.token, env.default_token_file);
    if (!token) {
        print_error(*env.err, token.status().message());
        return kExitFailure;
    }
    ApiClientConfig config;
    config.server = globals.servers.front();
    config.fallback_servers.assign(globals.servers.begin() + 1, globals.servers.end());
    config.token = std::move(token.value());
    config.ca_file = !globals.ca.empty()                                      ? globals.ca
                     : ::access(env.default_ca_file.c_str(), R_OK) == 0 ? env.default_ca_file
                                                                        : std::string();
    config.timeout = std::chrono::milliseconds(std::llround(globals.timeout_seconds * 1000));
    Session session(ApiClient(std::move(config), env.http), env, globals.json);
    return chosen(session);
}

}  // namespace provisioner::cli
