// The image signing key pair in the state directory, which survives a crash between its two
// halves. (Secrets are written whole, 0600 from their first byte, by base::write_private_file.)
#pragma once

#include <filesystem>

#include "provisioner/status.h"

namespace provisioner::server {

// The Ed25519 key pair images are signed with, key_file (PKCS#8 PEM, 0600) and pub_file
// (SubjectPublicKeyInfo PEM, 0644). A missing key_file: a new pair, the private half written
// first. A key_file whose pub_file is missing or does not match (a crash between the two
// writes, or an older server's partial write): pub_file derived again from key_file. created
// says whether a new pair was made, repaired whether pub_file was rewritten. storage for a
// key_file that does not read as an Ed25519 private key.
struct KeyPairReport {
    bool created = false;
    bool repaired = false;
};
Result<KeyPairReport> ensure_signing_key(const std::filesystem::path& key_file,
                                         const std::filesystem::path& pub_file);

}  // namespace provisioner::server
