// Who is calling: operator API tokens (random, stored as SHA-256), and three kinds of token a
// host's agents carry, each derived (HMAC-SHA256 under the server's secret over the kind, the
// host's id and MAC and a number), so the server stores none of them:
// - a boot ticket "t<host>_<deployment>_<hex>": what the unauthenticated iPXE script of a host
//   being deployed carries, over plain HTTP. Good for one hello of that deployment, while its
//   part of it is pending and the deployment is younger than the ticket lifetime.
// - a deployment token "d<host>_<deployment>_<hex>": the hello's answer to the netboot agent;
//   good for hello, progress and result of that deployment while the host's part runs.
// - a Dom0 token "h<host>_<generation>_<hex>": what the imaged system's agent uses (written to
//   the disk's seed partition by the netboot agent, or printed by `provisioner host dom0`).
//   The generation is the deployment that last imaged the host (0 before any): imaging the
//   host again retires the old Dom0's token.
// And per-VM guest tokens (over the VM's name; checked by the guest endpoints against the VM
// a report names).
//
// Thread-safe: identify() may run on every HTTP thread at once. Nothing is cached: every
// operator token and Dom0 generation is looked up in the store on every request, so that a
// revoked token (by this server, another one sharing the store, or `provisionerd` offline)
// is refused at once.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "provisioner/store.h"

namespace provisioner::server {

struct Principal {
    // host_token is a Dom0 token; boot_ticket and deployment_token are the netboot agent's.
    enum class Kind { none, invalid, operator_token, host_token, boot_ticket, deployment_token };
    Kind kind = Kind::none;
    std::string name;             // the operator token's name
    std::optional<HostId> host;   // for a host's tokens
    DeploymentId deployment = 0;  // for a boot ticket or a deployment token
};

// Which of a host's tokens an agent endpoint takes: the Dom0 token always; a deployment
// token on the netboot agent's progress and result; a boot ticket on hello only.
enum class AgentScope { dom0, imaging, hello };

class Authenticator {
  public:
    // secret: the server-wide host-token secret (hex), from Store settings.
    Authenticator(Store& store, std::string secret) : store_(store), secret_(std::move(secret)) {}
    // What the server's other secrets (BMC passwords, UI sessions) are derived from.
    const std::string& secret() const { return secret_; }

    // A new operator token ("op_" + 64 hex digits) and its hash for the store.
    static std::string new_operator_token();
    static std::string token_hash(std::string_view token);  // SHA-256, hex
    static std::string random_hex(std::size_t bytes);

    // Letters, digits and '_' only, so they are safe on a kernel command line.
    std::string boot_ticket(const Host& host, DeploymentId deployment) const;
    std::string deployment_token(const Host& host, DeploymentId deployment) const;
    // The Dom0 token of the host's current generation (read from the store), or of the given
    // one (a job hands the Dom0 token that its success will make current).
    Result<std::string> dom0_token(const Host& host);
    std::string dom0_token(const Host& host, DeploymentId generation) const;
    // Makes the Dom0 tokens of generation current for host (call with the imaging's store
    // transaction): the previous Dom0 token is refused from the next request on.
    static Status set_dom0_generation(Store& store, HostId host, DeploymentId generation);
    // Where a host's generation is kept: the setting kDom0GenerationPrefix + its id. It goes
    // with the host (forget_dom0_generation(), in the removal's transaction: a database from
    // before schema 8 may hand a removed last id out once more, and the new host must start at
    // generation 0); one an older server's removal left is swept (ServerPresence).
    static constexpr const char* kDom0GenerationPrefix = "dom0_generation:";
    static Status forget_dom0_generation(Store& store, HostId host);

    // "g_<64 hex>": the token of the guest agent in the VM named vm.
    std::string guest_token(const std::string& vm) const;
    // Whether "Authorization: Bearer TOKEN" carries vm's guest token (constant-time compare).
    bool is_guest(std::string_view authorization_header, const std::string& vm) const;

    // The compression tunnel's key (64 hex digits), the same for every Dom0 of the site,
    // derived from the secret so that the server stores none.
    std::string compress_tunnel_key() const { return digest("provisioner compress tunnel v1"); }

    // From "Authorization: Bearer TOKEN" (empty header: Kind::none).
    Principal identify(std::string_view authorization_header);

  private:
    std::string host_digest(char kind, HostId id, const std::string& mac,
                            DeploymentId number) const;
    Result<DeploymentId> dom0_generation(HostId id);
    std::string digest(const std::string& message) const;  // HMAC-SHA256 under secret_, hex

    Store& store_;
    const std::string secret_;
};

}  // namespace provisioner::server
