// token create NAME | list | revoke NAME
#include <memory>

#include "commands.h"
#include "output/format.h"
#include "output/table.h"

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

int token_list(Session& s) {
    auto r = s.api().get("/api/v1/tokens");
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    const auto& tokens = field(r.json(), "tokens");
    if (tokens.empty()) {
        s.err() << "no operator tokens\n";
        return kExitOk;
    }
    Table table({"NAME", "CREATED"});
    for (const auto& token : tokens)
        table.add_row({text(field(token, "name")), format_time(field(token, "created_at"))});
    s.out() << table.render();
    return kExitOk;
}

int token_revoke(Session& s, const std::string& name) {
    auto r = s.api().del("/api/v1/tokens/" + path_segment(name));
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    s.out() << "revoked operator token '" << text(field(r.json(), "name")) << "'\n";
    return kExitOk;
}

}  // namespace

void add_token_commands(CLI::App& app, Action& chosen) {
    auto* token =
        app.add_subcommand("token", "Make, list and revoke API tokens for operators and scripts");
    token->require_subcommand(1);

    auto create_name = std::make_shared<std::string>();
    auto* create = token->add_subcommand(
        "create", "Make an operator token and print it (the server keeps only its hash)");
    create->add_option("NAME", *create_name, "what the token is for, e.g. ci")->required();
    on_run(create, chosen, [create_name](Session& s) { return token_create(s, *create_name); });

    auto* list = token->add_subcommand(
        "list", "List the operator tokens as a table: name and when made (never the secret)");
    list->alias("ls");
    on_run(list, chosen, [](Session& s) { return token_list(s); });

    auto revoke_name = std::make_shared<std::string>();
    auto* revoke = token->add_subcommand(
        "revoke",
        "Revoke an operator token: the server refuses it from its next request on. The last "
        "token cannot be revoked (create another first)");
    revoke->add_option("NAME", *revoke_name, "the token's name, as `token list` shows it")
        ->required();
    on_run(revoke, chosen, [revoke_name](Session& s) { return token_revoke(s, *revoke_name); });
}

}  // namespace provisioner::cli
