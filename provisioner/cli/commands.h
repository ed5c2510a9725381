// The CLI's commands, one file per group (cmd_host.cc, cmd_image.cc, ...). Each add_* function
// adds its subcommands to the CLI11 tree; the subcommand the user picked sets `chosen` while
// the command line is parsed, and run_cli runs it once the global options are known.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <functional>

#include "session.h"

namespace provisioner::cli {

using Action = std::function<int(Session&)>;

void add_host_commands(CLI::App& app, Action& chosen);        // host add|import|list|show|...
void add_image_commands(CLI::App& app, Action& chosen);       // image import|list|show|remove
void add_template_commands(CLI::App& app, Action& chosen);    // template add|list|show|label|...
void add_service_commands(CLI::App& app, Action& chosen);     // service add|list|remove
void add_deploy_commands(CLI::App& app, Action& chosen);      // deploy
void add_deployment_commands(CLI::App& app, Action& chosen);  // deployment list|show|watch
void add_events_command(CLI::App& app, Action& chosen);       // events
void add_token_commands(CLI::App& app, Action& chosen);       // token create|list|revoke
void add_site_commands(CLI::App& app, Action& chosen);        // site diff|apply|status
void add_vm_commands(CLI::App& app, Action& chosen);          // vm list|recall
void add_top_command(CLI::App& app, Action& chosen);          // top
// host metrics and vm metrics (cmd_metrics.cc), added to their groups by cmd_host/cmd_vm.
void add_host_metrics_command(CLI::App* host, Action& chosen);
// host power and host bmc (cmd_power.cc), added to the host group by cmd_host.
void add_host_power_commands(CLI::App* host, Action& chosen);
void add_vm_metrics_command(CLI::App* vm, Action& chosen);

// Makes cmd, once parsed, the command to run: its action is action(session).
void on_run(CLI::App* cmd, Action& chosen, Action action);

// Polling: how often watch and events --follow ask, and how many transport failures in a row
// (a provisionerd restart, a network blip) they sit out before giving up.
inline constexpr std::chrono::milliseconds kWatchInterval{500};
inline constexpr std::chrono::milliseconds kFollowInterval{1000};
inline constexpr int kTransportRetries = 10;

// `deployment watch ID`, also what `deploy --watch` continues with.
int watch_deployment(Session& session, const std::string& id);

}  // namespace provisioner::cli
