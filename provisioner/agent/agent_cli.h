// The agent's command-line plumbing, shared by provisioner-agent and provisioner-agent-netboot
// (private to provisioner/agent).
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <span>
#include <string>

#include "provisioner/agent/agent.h"

namespace provisioner::agent::cli {

// Everything a command may take; each command uses what it needs.
struct Flags {
    std::string cmdline = "/proc/cmdline";
    std::string server, token, mac, disk, imaging;
    std::string root = "/";
    std::string storage = "/";
    double hello_timeout = 600, result_timeout = 300;
};

// Adds --disk and --root; with NETWORK also the server, token, MAC, imaging and timeouts.
void add_flags(CLI::App& app, Flags& f, bool network);

// The imaging tool beside this program, else "imaging" from PATH.
std::string default_imaging();

// Flags over the kernel command line over what the host can find out; nullopt after logging.
std::optional<AgentOptions> resolve(const Flags& f, bool need_token, std::string& server,
                                    std::string& token);

// A command that talks to provisionerd: parses flags, resolves them, runs FLOW.
int cmd_network(int argc, char** argv, const char* name, const char* about,
                int (*flow)(const AgentOptions&, ServerClient&, base::Clock&), bool need_token);

int cmd_image(int argc, char** argv);     // the netboot default
int cmd_discover(int argc, char** argv);  // provisioner.mode=discover
int cmd_facts(int argc, char** argv);

struct Command {
    const char* name;
    const char* summary;
    int (*run)(int argc, char** argv);
};

// The program's main over COMMANDS: --help, --ca FILE (every command takes it), the command
// named first or the default one (image, or discover when the kernel command line says
// provisioner.mode=discover). 2 for an unknown command.
int run_agent(int argc, char** argv, std::span<const Command> commands);

}  // namespace provisioner::agent::cli
