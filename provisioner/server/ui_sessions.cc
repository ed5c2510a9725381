#include "ui_sessions.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <charconv>
#include <span>
#include <vector>

#include "auth.h"
#include "imaging/digest.h"

namespace provisioner::server {

namespace {

std::string hmac_hex(std::string_view key, std::string_view message) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), key.data(), int(key.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), out, &length);
    return imaging::to_hex(std::span<const std::uint8_t>(out, length));
}

std::optional<std::int64_t> number(std::string_view digits) {
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || n < 0)
        return std::nullopt;
    return n;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> parts;
    while (true) {
        auto at = s.find(sep);
        parts.push_back(s.substr(0, at));
        if (at == std::string_view::npos) return parts;
        s.remove_prefix(at + 1);
    }
}

std::string signed_out_key(const std::string& name) {
    return "ui_signed_out:" + name;
}

}  // namespace

UiSessions::UiSessions(Store& store, Authenticator& auth, const std::string& secret,
                       base::Clock& clock, std::chrono::milliseconds lifetime)
    : store_(store), auth_(auth), key_(hmac_hex(secret, "ui-session-key")), clock_(clock),
      lifetime_(lifetime) {}

std::string UiSessions::mac(std::string_view purpose, std::string_view payload) const {
    return hmac_hex(key_, std::string(purpose) + ":" + std::string(payload));
}

Timestamp UiSessions::now_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               clock_.wall_now().time_since_epoch())
        .count();
}

Result<UiSession> UiSessions::sign_in(std::string_view token) {
    const Principal who = auth_.identify("Bearer " + std::string(token));
    switch (who.kind) {
    case Principal::Kind::operator_token: break;
    case Principal::Kind::host_token:
    case Principal::Kind::boot_ticket:
    case Principal::Kind::deployment_token:
        return Status::error(Code::invalid_argument,
                             "a host's token cannot sign in: use an operator token");
    case Principal::Kind::none:
    case Principal::Kind::invalid:
        return Status::error(Code::invalid_argument,
                             token.starts_with("g_")
                                 ? "a guest's token cannot sign in: use an operator token"
                                 : "this token is not a valid operator token");
    }
    auto found = store_.find_api_token(Authenticator::token_hash(token));
    if (!found) return found.status();  // revoked between the two reads
    const Timestamp issued = now_ms();
    const Timestamp expires = issued + lifetime_.count();
    const std::string nonce = Authenticator::random_hex(16);
    const std::vector<std::uint8_t> name_bytes(found->name.begin(), found->name.end());
    const std::string payload = imaging::to_hex(name_bytes) + "." +
                                std::to_string(found->created_at) + "." +
                                std::to_string(issued) + "." + std::to_string(expires) + "." +
                                nonce;
    UiSession s;
    s.name = found->name;
    s.cookie = payload + "." + mac("cookie", payload);
    s.csrf = mac("csrf", payload);
    s.expires_at = expires;
    return s;
}

std::optional<UiSession> UiSessions::check(std::string_view cookie) {
    auto parts = split(cookie, '.');
    if (parts.size() != 6) return std::nullopt;
    const std::string_view payload = cookie.substr(0, cookie.rfind('.'));
    const std::string expected = mac("cookie", payload);
    if (parts[5].size() != expected.size() ||
        CRYPTO_memcmp(parts[5].data(), expected.data(), expected.size()) != 0)
        return std::nullopt;
    auto name_bytes = imaging::from_hex(parts[0]);
    auto created = number(parts[1]);
    auto issued = number(parts[2]);
    auto expires = number(parts[3]);
    if (!name_bytes || !created || !issued || !expires) return std::nullopt;
    if (now_ms() >= *expires) return std::nullopt;
    const std::string name(name_bytes->begin(), name_bytes->end());
    // The token must still exist as it was when the session began.
    auto tokens = store_.list_api_tokens();
    if (!tokens) return std::nullopt;
    bool alive = false;
    for (const ApiToken& t : *tokens) alive |= t.name == name && t.created_at == *created;
    if (!alive) return std::nullopt;
    if (auto out = store_.get_setting(signed_out_key(name))) {
        auto at = number(*out);
        if (!at || *issued <= *at) return std::nullopt;
    } else if (out.status().code() != Code::not_found) {
        return std::nullopt;
    }
    UiSession s;
    s.name = name;
    s.cookie = std::string(cookie);
    s.csrf = mac("csrf", payload);
    s.expires_at = *expires;
    return s;
}

Status UiSessions::sign_out(const UiSession& session) {
    return store_.set_setting(signed_out_key(session.name), std::to_string(now_ms()));
}

std::string UiSessions::set_cookie_header(const UiSession& session, bool secure) const {
    const auto left_s = std::max<Timestamp>(0, (session.expires_at - now_ms()) / 1000);
    return std::string(kCookieName) + "=" + session.cookie +
           "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(left_s) +
           (secure ? "; Secure" : "");
}

std::string UiSessions::clear_cookie_header(bool secure) {
    return std::string(kCookieName) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" +
           (secure ? "; Secure" : "");
}

std::string UiSessions::cookie_value(std::string_view header) {
    for (std::string_view part : split(header, ';')) {
        while (part.starts_with(' ')) part.remove_prefix(1);
        if (part.starts_with(kCookieName) && part.substr(kCookieName.size()).starts_with('='))
            return std::string(part.substr(kCookieName.size() + 1));
    }
    return "";
}

}  // namespace provisioner::server
