#include "state_files.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>

#include "base/atomic_file.h"
#include "imaging/http/x509.h"
#include "text_file.h"

namespace provisioner::server {

namespace fs = std::filesystem;

namespace {

Status failed(const std::string& what, int err = errno) {
    return Status::error(Code::storage, what + ": " + std::strerror(err));
}

using imaging::http::x509::Bio;
using imaging::http::x509::bio_text;
using imaging::http::x509::Pkey;

Result<std::string> public_pem(EVP_PKEY* key) {
    Bio out(BIO_new(BIO_s_mem()));
    if (!out || PEM_write_bio_PUBKEY(out.get(), key) != 1)
        return Status::error(Code::storage, "cannot write the public key");
    return bio_text(out.get());
}

}  // namespace

Result<KeyPairReport> ensure_signing_key(const fs::path& key_file, const fs::path& pub_file) {
    KeyPairReport report;
    Pkey key;
    std::error_code ec;
    if (!fs::exists(key_file, ec)) {
        EVP_PKEY* made = nullptr;
        EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr);
        const bool ok = ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, &made) == 1;
        EVP_PKEY_CTX_free(ctx);
        key.reset(made);
        if (!ok || !key) return Status::error(Code::storage, "cannot generate an Ed25519 key");
        Bio out(BIO_new(BIO_s_mem()));
        if (!out || PEM_write_bio_PrivateKey(out.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                             nullptr) != 1)
            return Status::error(Code::storage, "cannot write the private key");
        // The private half first: a crash before the public half is repaired below next time.
        if (Status s = base::write_private_file(key_file, bio_text(out.get())); !s) return s;
        report.created = true;
    } else {
        // An older server wrote it with whatever mode; the private key is the owner's alone.
        if (::chmod(key_file.c_str(), 0600) != 0) return failed("chmod 0600 " + key_file.string());
        auto text = read_text_file(key_file);
        if (!text) return text.status();
        Bio in(BIO_new_mem_buf(text->data(), int(text->size())));
        key.reset(in ? PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr) : nullptr);
        if (!key || EVP_PKEY_id(key.get()) != EVP_PKEY_ED25519)
            return Status::error(Code::storage,
                                 key_file.string() + " is not an Ed25519 private key in PEM");
    }
    auto pub = public_pem(key.get());
    if (!pub) return pub.status();
    auto existing = read_text_file(pub_file);
    if (existing && *existing == *pub) return report;
    if (Status s = base::write_file_atomically(pub_file, *pub, fs::perms(0644)); !s) return s;
    report.repaired = !report.created;
    return report;
}

}  // namespace provisioner::server
