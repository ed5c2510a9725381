// provisionerd's state directory: what `provisionerd init` makes and every start checks.
//
// STATE is the owner's alone (0700; 0711 while dnsmasq runs, so that it reaches STATE/dnsmasq):
//   STATE/inventory.db        the SQLite inventory (WAL; it, -wal and -shm 0600; it holds the
//                             secret behind every host and guest token, sealed under site.key)
//   STATE/site.key, site.pub  the Ed25519 key pair images are signed with (imaging pack --key);
//                             site.key 0600
//   STATE/operator.token      the first operator token (0600), read by the CLI by default
//   STATE/import/             where `template add` and `image import` read (import_paths.h)
//   STATE/dnsmasq/            dnsmasq.conf, tftp/, hosts/, leases (see dhcp_service.h)
//   STATE/torrents/           the .torrent of each BitTorrent deployment
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "provisioner/store.h"

namespace provisioner::server {

struct StateFiles {
    std::filesystem::path root;
    std::filesystem::path inventory() const { return root / "inventory.db"; }
    std::filesystem::path signing_key() const { return root / "site.key"; }
    std::filesystem::path public_key() const { return root / "site.pub"; }
    std::filesystem::path operator_token() const { return root / "operator.token"; }
    std::filesystem::path import_dir() const { return root / "import"; }
};

struct InitReport {
    bool created_key = false;
    bool repaired_public_key = false;  // site.pub derived again from site.key
    bool created_token = false;  // written to operator_token()
    std::string host_secret;     // the host-token secret (shared through the store, sealed)
};

// The host-token secret, behind every host, guest and Dom0 token, the web UI's sessions and the
// sealed BMC passwords. Servers sharing a store share it, sealed (AES-256-GCM) under a key
// derived from site_key (the text of STATE/site.key, which they share and the database never
// holds): a reader of the database alone can neither derive tokens nor open BMC passwords. The
// first server makes it (or seals the plain secret an older server stored, then blanks that);
// error if it does not open under site_key.
Result<std::string> host_token_secret(Store& store, const std::string& site_key);

// Creates what is missing: the directory and STATE/import (0700), the key pair (a missing
// site.pub derived from site.key), the host-token secret, and, when the store has no operator
// token, one named "admin" written to STATE/operator.token. Every file is written atomically
// with its final mode; older files are tightened (site.key, operator.token 0600). Idempotent:
// a second run changes nothing.
Result<InitReport> initialise_state(const StateFiles& files, Store& store);

// Makes a named operator token, returns it (it is shown once).
Result<std::string> create_operator_token(Store& store, const std::string& name);

// Revokes the operator token named name (refused from the next request on) and logs it;
// returns what was removed. not_found for an unknown name; conflict for the last token.
Result<ApiToken> revoke_operator_token(Store& store, const std::string& name);

}  // namespace provisioner::server
