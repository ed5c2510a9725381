// Who is calling: operator API tokens (random, stored as SHA-256), per-host agent tokens
// (derived, HMAC-SHA256 over the host's id and MAC under the server's secret, so the server
// can put them on a kernel command line without storing them) and per-VM guest tokens (the
// same, over the VM's name; checked by the guest endpoints against the VM a report names).
//
// Thread-safe: identify() may run on every HTTP thread at once. Nothing is cached: every
// operator token is looked up in the store on every request, so that a revoked token (by this
// server, another one sharing the store, or `provisionerd` offline) is refused at once.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "provisioner/store.h"

namespace provisioner::server {

struct Principal {
    enum class Kind { none, invalid, operator_token, host_token };
    Kind kind = Kind::none;
    std::string name;           // the operator token's name
    std::optional<HostId> host;  // for host tokens
};

class Authenticator {
  public:
    // secret: the server-wide host-token secret (hex), from Store settings.
    Authenticator(Store& store, std::string secret) : store_(store), secret_(std::move(secret)) {}

    // A new operator token ("op_" + 64 hex digits) and its hash for the store.
    static std::string new_operator_token();
    static std::string token_hash(std::string_view token);  // SHA-256, hex
    static std::string random_hex(std::size_t bytes);

    // "h<id>_<64 hex>": letters, digits and '_' only, so it is safe on a kernel command line.
    std::string host_token(const Host& host) const;

    // "g_<64 hex>": the token of the guest agent in the VM named vm.
    std::string guest_token(const std::string& vm) const;
    // Whether "Authorization: Bearer TOKEN" carries vm's guest token (constant-time compare).
    bool is_guest(std::string_view authorization_header, const std::string& vm) const;

    // From "Authorization: Bearer TOKEN" (empty header: Kind::none).
    Principal identify(std::string_view authorization_header);

  private:
    std::string host_mac_digest(HostId id, const std::string& mac) const;
    std::string digest(const std::string& message) const;  // HMAC-SHA256 under secret_, hex

    Store& store_;
    const std::string secret_;
};

}  // namespace provisioner::server
