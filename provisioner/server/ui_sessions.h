// The web UI's sign-in: an operator token exchanged for a session cookie, so that the token
// itself never sits in the browser's storage and a script injected into a page cannot read
// the session (HttpOnly).
//
// A session is stateless on the server: its cookie is
//   <token name, hex>.<token created_at>.<issued_ms>.<expires_ms>.<nonce>.<HMAC-SHA256>
// under a key derived from the server's secret, so every server sharing the store accepts it
// and a restart keeps it. It is refused once it expires, once its operator token is revoked
// (or replaced by one of the same name: created_at differs), and once any session of that
// token signs out: sign-out records the time in the store ("ui_signed_out:NAME"), which ends
// every session of that token issued until then (one row per token, never a growing list).
//
// CSRF: each session has a token derived from its cookie (another HMAC). A request that
// changes state with the cookie must carry it in X-CSRF-Token; the cookie is also
// SameSite=Strict, so another site's page cannot send it at all in current browsers.
//
// Thread-safe (the store is; the rest is constant).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "auth.h"
#include "base/clock.h"
#include "provisioner/status.h"
#include "provisioner/store.h"

namespace provisioner::server {

struct UiSession {
    std::string name;    // the operator token's name
    std::string cookie;  // the cookie's value
    std::string csrf;    // what X-CSRF-Token must carry
    Timestamp expires_at = 0;
};

class UiSessions {
  public:
    static constexpr std::string_view kCookieName = "provisioner_session";
    static constexpr std::chrono::hours kDefaultLifetime{8};

    // secret: the server's host-token secret (hex); sessions use a key derived from it. auth
    // tells an operator token from the others.
    UiSessions(Store& store, Authenticator& auth, const std::string& secret, base::Clock& clock,
               std::chrono::milliseconds lifetime = kDefaultLifetime);

    // A session for whoever holds this operator token: invalid_argument for anything but a
    // valid operator token (an unknown token, a host's, a guest's), saying so.
    Result<UiSession> sign_in(std::string_view token);
    // The session a cookie value carries, when it is still good.
    std::optional<UiSession> check(std::string_view cookie);
    // Ends every session of the cookie's operator token issued until now.
    Status sign_out(const UiSession& session);

    // "provisioner_session=VALUE; Path=/; HttpOnly; SameSite=Strict; Max-Age=N" (+ "; Secure"
    // over TLS); an empty value and Max-Age=0 clears it.
    std::string set_cookie_header(const UiSession& session, bool secure) const;
    static std::string clear_cookie_header(bool secure);
    // The session cookie's value in a Cookie request header ("" when absent).
    static std::string cookie_value(std::string_view cookie_header);

  private:
    std::string mac(std::string_view purpose, std::string_view payload) const;
    Timestamp now_ms() const;

    Store& store_;
    Authenticator& auth_;
    std::string key_;  // HMAC key, derived from the server's secret
    base::Clock& clock_;
    const std::chrono::milliseconds lifetime_;
};

}  // namespace provisioner::server
