// Secrets at rest in the state directory: files written whole or not at all, with the owner's
// mode from their first byte, and the image signing key pair that survives a crash between its
// two halves.
#pragma once

#include <filesystem>
#include <string_view>

#include "provisioner/status.h"

namespace provisioner::server {

// Writes text to path atomically and durably: a new file beside it, created with mode (O_EXCL,
// so no other process holds it open), written, fsynced, renamed over path, then the directory
// fsynced. storage naming the step on failure; nothing is left behind.
Status write_private_file(const std::filesystem::path& path, std::string_view text,
                          std::filesystem::perms mode = std::filesystem::perms(0600));

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
