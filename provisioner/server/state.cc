#include "state.h"

#include <fstream>

#include "auth.h"
#include "base/atomic_file.h"
#include "state_files.h"

namespace provisioner::server {

namespace fs = std::filesystem;

Result<std::string> create_operator_token(Store& store, const std::string& name) {
    std::string token = Authenticator::new_operator_token();
    auto added = store.add_api_token(name, Authenticator::token_hash(token));
    if (!added) return added.status();
    store.log_event(server_event("operator token " + name + " created"));
    return token;
}

Result<ApiToken> revoke_operator_token(Store& store, const std::string& name) {
    auto removed = store.remove_api_token(name);
    if (!removed) return removed;
    store.log_event(server_event("operator token " + name + " revoked"));
    return removed;
}

Result<InitReport> initialise_state(const StateFiles& files, Store& store) {
    InitReport report;
    std::error_code ec;
    for (const fs::path& dir : {files.root, files.import_dir()}) {
        fs::create_directories(dir, ec);
        if (ec)
            return Status::error(Code::storage,
                                 "cannot create " + dir.string() + ": " + ec.message());
        // The owner's alone: keys, tokens and the inventory (the host-token secret) are here.
        // DhcpService lets dnsmasq (as nobody) pass through to STATE/dnsmasq (0711).
        fs::permissions(dir, fs::perms(0700), ec);
        if (ec)
            return Status::error(Code::storage,
                                 "cannot chmod 0700 " + dir.string() + ": " + ec.message());
    }
    auto key = ensure_signing_key(files.signing_key(), files.public_key());
    if (!key) return key.status().context("the image signing key");
    report.created_key = key->created;
    report.repaired_public_key = key->repaired;
    auto secret = store.set_setting_once("host_token_secret", Authenticator::random_hex(32));
    if (!secret) return secret.status();
    report.host_secret = *secret;
    if (fs::exists(files.operator_token(), ec))
        fs::permissions(files.operator_token(), fs::perms(0600), ec);  // an older server's
    auto tokens = store.list_api_tokens();
    if (!tokens) return tokens.status();
    if (tokens->empty()) {
        auto token = create_operator_token(store, "admin");
        if (!token) return token.status();
        if (Status s = base::write_private_file(files.operator_token(), *token + "\n"); !s)
            return s.context("writing " + files.operator_token().string());
        report.created_token = true;
    }
    return report;
}

}  // namespace provisioner::server
