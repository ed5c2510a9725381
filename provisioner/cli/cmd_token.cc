// token create NAME
#include <memory>

#include "commands.h"
#include "output/format.h"

namespace provisioner::cli {
namespace {

int token_create(Session& s, const std::string& name) {
    auto r = s.api().post("/api/v1/tokens", {{"name", name}});
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    // The token alone on stdout, so that TOKEN=$(provisioner token create ci) works.
    s.out() << text(field(r.json(), "token")) << "\n";
    s.err() << "created operator token '" << text(field(r.json(), "name"))
            << "'; it is shown only this once\n";
    return kExitOk;
}

}  // namespace

void add_token_commands(CLI::App& app, Action& chosen) {
    auto* token = app.add_subcommand("token", "Make API tokens for operators and scripts");
    token->require_subcommand(1);
    auto name = std::make_shared<std::string>();
    auto* create = token->add_subcommand(
        "create", "Make an operator token and print it (the server keeps only its hash)");
    create->add_option("NAME", *name, "what the token is for, e.g. ci")->required();
    on_run(create, chosen, [name](Session& s) { return token_create(s, *name); });
}

}  // namespace provisioner::cli
