#include "state.h"

#include <fstream>

#include "auth.h"
#include "base/atomic_file.h"
#include "provisioner/power/sealed_password.h"
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

namespace {

constexpr const char* kSecretSealed = "host_token_secret_sealed";
constexpr const char* kSecretPlain = "host_token_secret";  // before it was sealed
constexpr const char* kSealPurpose = "host-token-secret";

std::string file_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

Result<std::string> host_token_secret(Store& store, const std::string& site_key) {
    if (site_key.empty()) return Status::error(Code::invalid_argument, "no site key to open it with");
    auto stored = store.get_setting(kSecretSealed);
    if (!stored && stored.status().code() != Code::not_found) return stored.status();
    if (!stored) {
        // The first server of a store (or one from before sealing: its plain secret is kept,
        // so every token already handed out still verifies).
        std::string secret;
        auto plain = store.get_setting(kSecretPlain);
        if (plain && !plain->empty())
            secret = *plain;
        else if (!plain && plain.status().code() != Code::not_found)
            return plain.status();
        else
            secret = Authenticator::random_hex(32);
        auto sealed = power::seal_text(site_key, kSealPurpose, "", secret);
        if (!sealed) return sealed.status();
        // Servers starting together agree on the first one written.
        stored = store.set_setting_once(kSecretSealed, *sealed);
        if (!stored) return stored.status();
    }
    auto secret = power::open_text(site_key, kSealPurpose, "", *stored);
    if (!secret)
        return Status::error("the host-token secret in the store does not open under this "
                             "server's site.key: the servers sharing a store must share site.key "
                             "(copy it from the first server's state directory)");
    // No plain copy is left for a reader of the database alone.
    auto plain = store.get_setting(kSecretPlain);
    if (plain && !plain->empty())
        if (Status s = store.set_setting(kSecretPlain, ""); !s) return s;
    return secret;
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
    auto secret = host_token_secret(store, file_text(files.signing_key()));
    if (!secret) return secret.status().context("the host-token secret");
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
