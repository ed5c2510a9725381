#include "state.h"

#include <fstream>

#include "auth.h"
#include "imaging/signing.h"
#include "pxe/hosts_directory.h"

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
    fs::create_directories(files.root, ec);
    if (ec)
        return Status::error(Code::storage, "cannot create " + files.root.string() + ": " +
                                                ec.message());
    fs::permissions(files.root, fs::perms(0755), ec);  // dnsmasq reads STATE/dnsmasq as nobody
    if (!fs::exists(files.signing_key())) {
        auto prefix = files.root / "site";
        if (auto s = imaging::generate_keypair(prefix); !s.is_ok())
            return Status::error(Code::storage, "making the image signing key: " + s.message());
        report.created_key = true;
    }
    auto secret = store.set_setting_once("host_token_secret", Authenticator::random_hex(32));
    if (!secret) return secret.status();
    report.host_secret = *secret;
    auto tokens = store.list_api_tokens();
    if (!tokens) return tokens.status();
    if (tokens->empty()) {
        auto token = create_operator_token(store, "admin");
        if (!token) return token.status();
        if (auto s = pxe::write_file_atomically(files.operator_token(), *token + "\n",
                                                fs::perms(0600));
            !s.is_ok())
            return Status::error(Code::storage, "writing " + files.operator_token().string() +
                                                    ": " + s.message());
        report.created_token = true;
    }
    return report;
}

}  // namespace provisioner::server
