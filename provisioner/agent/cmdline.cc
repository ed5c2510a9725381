#include "provisioner/agent/cmdline.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <fstream>

namespace provisioner::agent {

std::map<std::string, std::string> parse_kernel_cmdline(std::string_view text) {
    std::map<std::string, std::string> params;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
        if (i == text.size()) break;
        std::string word;
        bool quoted = false;
        for (; i < text.size(); ++i) {
            char c = text[i];
            if (c == '"') {
                quoted = !quoted;
            } else if (!quoted && std::isspace(static_cast<unsigned char>(c))) {
                break;
            } else {
                word += c;
            }
        }
        auto eq = word.find('=');
        if (eq == std::string::npos)
            params[word] = "";
        else
            params[word.substr(0, eq)] = word.substr(eq + 1);
    }
    return params;
}

imaging::Result<std::map<std::string, std::string>> read_kernel_cmdline(
    const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return imaging::errno_status("reading the kernel command line " + file.string());
    std::string text(kMaxCmdlineBytes, '\0');
    in.read(text.data(), std::streamsize(text.size()));
    if (in.bad()) return imaging::errno_status("reading the kernel command line " + file.string());
    text.resize(std::size_t(in.gcount()));
    text.resize(std::min(text.size(), text.find('\0')));  // a seed partition: NUL-padded
    return parse_kernel_cmdline(text);
}

std::string base64_encode(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(bytes.data()), int(bytes.size()));
    out.resize(std::size_t(n));
    return out;
}

std::string base64_decode(std::string_view text) {
    if (text.empty() || text.size() % 4) return "";
    std::string out(3 * (text.size() / 4), '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(text.data()), int(text.size()));
    if (n < 0) return "";
    // EVP_DecodeBlock counts the padding's zero bytes too.
    std::size_t pad = text.ends_with("==") ? 2 : text.ends_with('=') ? 1 : 0;
    out.resize(std::size_t(n) - pad);
    // EVP_DecodeBlock skips leading and trailing whitespace and reads a '=' anywhere as zero
    // bits; only the one encoding of the result is taken, so that no byte is invented.
    if (base64_encode(out) != text) return "";
    return out;
}

}  // namespace provisioner::agent
