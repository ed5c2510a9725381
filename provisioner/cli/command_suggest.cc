#include "command_suggest.h"

#include "imaging/suggest.h"

namespace provisioner::cli {
namespace {

// The option named by token, on app or any command above it (global options fall through).
const CLI::Option* find_option(CLI::App* app, const std::string& token) {
    for (; app; app = app->get_parent()) {
        if (auto* opt = app->get_option_no_throw(token)) return opt;
    }
    return nullptr;
}

std::vector<CLI::App*> commands_of(CLI::App* app) {
    return app->get_subcommands([](CLI::App* sub) { return !sub->get_name().empty(); });
}

std::string join(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) out += (out.empty() ? "" : ", ") + w;
    return out;
}

}  // namespace

std::optional<CommandProblem> find_command_problem(CLI::App& root,
                                                   const std::vector<std::string>& args) {
    CLI::App* node = &root;
    std::string path = root.get_name();
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& token = args[i];
        if (token == "--") return std::nullopt;
        if (token.size() > 1 && token[0] == '-') {
            bool has_inline_value = token.find('=') != std::string::npos;
            const CLI::Option* opt = has_inline_value ? nullptr : find_option(node, token);
            if (opt && opt->get_items_expected_max() > 0) ++i;
            continue;
        }
        auto subs = commands_of(node);
        if (subs.empty()) return std::nullopt;  // a leaf: the rest are its arguments
        CLI::App* next = nullptr;
        for (auto* sub : subs) {
            if (sub->check_name(token)) next = sub;
        }
        if (!next) {
            CommandProblem problem{path, token, std::nullopt, {}};
            for (auto* sub : subs) problem.commands.push_back(sub->get_name());
            problem.closest = imaging::closest_match(token, problem.commands);
            return problem;
        }
        node = next;
        path += " " + next->get_name();
    }
    auto subs = commands_of(node);
    if (subs.empty()) return std::nullopt;
    CommandProblem problem{path, "", std::nullopt, {}};
    for (auto* sub : subs) problem.commands.push_back(sub->get_name());
    return problem;
}

std::string describe(const CommandProblem& problem) {
    if (problem.unknown.empty()) {
        return "'" + problem.path + "' needs a command: " + join(problem.commands);
    }
    std::string message = "unknown command '" + problem.unknown + "'";
    if (problem.closest) return message + "; did you mean '" + *problem.closest + "'?";
    return message + "; '" + problem.path + "' has: " + join(problem.commands);
}

}  // namespace provisioner::cli
