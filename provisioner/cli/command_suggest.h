// "Did you mean" for the CLI11 command tree: when parsing fails, find the word that was meant
// to be a command and is not one.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

namespace provisioner::cli {

struct CommandProblem {
    std::string path;                    // the command above the problem: "provisioner host"
    std::string unknown;                 // the word that is no command; empty when none was given
    std::optional<std::string> closest;  // the command it is nearest to, if near enough
    std::vector<std::string> commands;   // the commands that would have been valid there
};

// Walks args (without the program name) down root's tree, skipping options and their values.
// nullopt when every word that should be a command is one (the problem is elsewhere).
std::optional<CommandProblem> find_command_problem(CLI::App& root,
                                                   const std::vector<std::string>& args);

// "unknown command 'hots'; did you mean 'host'?" or, for a missing command,
// "'provisioner host' needs a command: add, import, list, show, accept, remove".
std::string describe(const CommandProblem& problem);

}  // namespace provisioner::cli
