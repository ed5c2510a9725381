#include "imaging/signing.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "imaging/digest.h"

namespace imaging {

struct KeyHandle {
    EVP_PKEY* pkey = nullptr;
    ~KeyHandle() { EVP_PKEY_free(pkey); }
};

namespace {

std::string openssl_error() {
    unsigned long e = ERR_get_error();
    if (e == 0) return "unknown OpenSSL error";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

Result<std::shared_ptr<KeyHandle>> read_pem(const std::filesystem::path& path, bool priv) {
    File f(std::fopen(path.c_str(), "r"));
    if (!f) return errno_status("cannot open key " + path.string());
    auto key = std::make_shared<KeyHandle>();
    key->pkey = priv ? PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr)
                     : PEM_read_PUBKEY(f.get(), nullptr, nullptr, nullptr);
    if (!key->pkey)
        return Status::error(path.string() + " is not a PEM " +
                             (priv ? "private" : "public") + " key");
    if (EVP_PKEY_get_id(key->pkey) != EVP_PKEY_ED25519)
        return Status::error(path.string() + " is not an Ed25519 key");
    return key;
}

}  // namespace

Status generate_keypair(const std::filesystem::path& prefix) {
    auto key_path = std::filesystem::path(prefix.string() + ".key");
    auto pub_path = std::filesystem::path(prefix.string() + ".pub");
    KeyHandle key;
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
    bool ok = ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &key.pkey) == 1;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) return Status::error("cannot generate Ed25519 key: " + openssl_error());

    int fd = ::open(key_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return errno_status("cannot create " + key_path.string());
    File kf(fdopen(fd, "w"));
    if (!kf || PEM_write_PrivateKey(kf.get(), key.pkey, nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
        std::fflush(kf.get()) != 0)
        return Status::error("cannot write " + key_path.string());
    File pf(std::fopen(pub_path.c_str(), "w"));
    if (!pf || PEM_write_PUBKEY(pf.get(), key.pkey) != 1 || std::fflush(pf.get()) != 0)
        return Status::error("cannot write " + pub_path.string());
    return Status::ok();
}

Result<SigningKey> SigningKey::load(const std::filesystem::path& key_file) {
    auto k = read_pem(key_file, true);
    if (!k) return k.status();
    SigningKey s;
    s.key_ = std::move(*k);
    return s;
}

Result<std::string> SigningKey::sign(std::string_view message) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::vector<std::uint8_t> sig(64);
    std::size_t len = sig.size();
    bool ok = ctx && EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key_->pkey) == 1 &&
              EVP_DigestSign(ctx, sig.data(), &len,
                             reinterpret_cast<const unsigned char*>(message.data()),
                             message.size()) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok) return Status::error("signing failed: " + openssl_error());
    sig.resize(len);
    return to_hex(sig);
}

Result<VerifyKey> VerifyKey::load(const std::filesystem::path& pub_file) {
    auto k = read_pem(pub_file, false);
    if (!k) return k.status();
    VerifyKey v;
    v.key_ = std::move(*k);
    return v;
}

bool VerifyKey::verify(std::string_view message, std::string_view signature_hex) const {
    auto sig = from_hex(signature_hex);
    if (!sig || sig->size() != 64) return false;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key_->pkey) == 1 &&
              EVP_DigestVerify(ctx, sig->data(), sig->size(),
                               reinterpret_cast<const unsigned char*>(message.data()),
                               message.size()) == 1;
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

}  // namespace imaging
