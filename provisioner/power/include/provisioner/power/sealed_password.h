// A BMC password as the inventory keeps it: AES-256-GCM under a key derived from the server's
// secret (HMAC-SHA256(secret, "bmc-password")), a fresh 96-bit nonce each time, the host's id
// as associated data (a sealed password copied onto another host does not open). Text form:
// "v1:" + hex(nonce | ciphertext | tag). Every server sharing the store has the same secret,
// so any of them opens it.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace provisioner::power {

// secret: the server's host-token secret (hex). Errors only when OpenSSL fails.
base::Result<std::string> seal_password(const std::string& secret, std::int64_t host,
                                        const std::string& password);
// invalid_argument for a malformed text; error ("does not open") for a wrong secret, host or a
// changed byte.
base::Result<std::string> open_password(const std::string& secret, std::int64_t host,
                                        const std::string& sealed);

// The same sealing for any text: the key HMAC-SHA256(secret, purpose), aad the associated data
// (the text opens only under the same secret, purpose and aad). Same errors as above.
base::Result<std::string> seal_text(const std::string& secret, const std::string& purpose,
                                    const std::string& aad, const std::string& text);
base::Result<std::string> open_text(const std::string& secret, const std::string& purpose,
                                    const std::string& aad, const std::string& sealed);

}  // namespace provisioner::power
