#include "imaging/manifest.h"

#include "base/json.h"

#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace imaging {

using nlohmann::json;

namespace {

// A chunk can't be larger than this: bounds what a receiver allocates for a hostile manifest.
constexpr std::uint32_t kMaxChunkSize = 64u << 20;

json payload_json(const Manifest& m) {
    json chunks = json::array();
    for (const auto& c : m.chunks) chunks.push_back({to_hex(c.sha256), c.pack_offset, c.pack_size});
    return json{{"format", kManifestFormat},
                {"name", m.name},
                {"version", m.version},
                {"raw_size", m.raw_size},
                {"chunk_size", m.chunk_size},
                {"sha256", to_hex(m.image_sha256)},
                {"pack", {{"file", kPackFile}, {"size", m.pack_size}}},
                {"chunks", std::move(chunks)}};
}

Result<std::string> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return errno_status("cannot read " + path.string());
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

std::uint32_t Manifest::chunk_length(std::size_t i) const {
    std::uint64_t start = chunk_offset(i);
    return std::uint32_t(std::min<std::uint64_t>(chunk_size, raw_size - start));
}

std::uint64_t Manifest::stored_bytes() const {
    std::uint64_t total = 0;
    for (const auto& c : chunks) total += c.pack_size;
    return total;
}

std::uint64_t Manifest::nonzero_raw_bytes() const {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < chunks.size(); ++i)
        if (!chunks[i].is_zero()) total += chunk_length(i);
    return total;
}

// nlohmann's json keeps object keys sorted, so dump() is canonical: the same manifest always
// serialises to the same bytes, which is what the signature covers.
std::string Manifest::signed_payload() const { return payload_json(*this).dump(); }

std::string Manifest::to_json() const {
    json j = payload_json(*this);
    j["signature"] = signature;
    return j.dump(1);
}

Status Manifest::sign(const SigningKey& key) {
    auto sig = key.sign(signed_payload());
    if (!sig) return sig.status();
    signature = *sig;
    return Status::ok();
}

Status Manifest::verify_signature(const VerifyKey& key) const {
    if (signature.empty()) return Status::error("manifest is not signed");
    if (!key.verify(signed_payload(), signature))
        return Status::error("manifest signature does not verify with this public key");
    return Status::ok();
}

namespace {

// nlohmann's get<uint32_t>() truncates a larger integer and converting a float out of range
// is undefined behaviour (both found by tests/fuzz): sizes must be integers that fit.
template <class T>
T unsigned_at(const json& v, const char* what) {
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() > std::numeric_limits<T>::max())
        throw std::range_error(std::string(what) + " is not an unsigned integer of " +
                               std::to_string(sizeof(T) * 8) + " bits");
    return static_cast<T>(v.get<std::uint64_t>());
}

}  // namespace

Result<Manifest> Manifest::parse(std::string_view text) {
    // A manifest arrives over the network before its signature is checked: bounded. Its
    // chunk list is long, not deep (an object of arrays of objects).
    auto parsed = base::parse_json(text, {256 << 20, 8});
    if (!parsed) return Status::error("manifest is not valid JSON: " + parsed.error);
    json& j = parsed.value;
    if (!j.is_object()) return Status::error("manifest is not a JSON object");
    try {
        Manifest m;
        if (unsigned_at<std::uint32_t>(j.at("format"), "format") != kManifestFormat)
            return Status::error("unsupported manifest format " + j.at("format").dump());
        m.name = j.at("name").get<std::string>();
        m.version = j.at("version").get<std::string>();
        m.raw_size = unsigned_at<std::uint64_t>(j.at("raw_size"), "raw_size");
        m.chunk_size = unsigned_at<std::uint32_t>(j.at("chunk_size"), "chunk_size");
        m.pack_size = unsigned_at<std::uint64_t>(j.at("pack").at("size"), "pack size");
        m.signature = j.value("signature", std::string());
        auto image_sha = digest_from_hex(j.at("sha256").get<std::string>());
        if (!image_sha) return Status::error("manifest: sha256 is not a SHA-256 hex digest");
        m.image_sha256 = *image_sha;
        if (m.chunk_size == 0 || m.chunk_size > kMaxChunkSize)
            return Status::error("manifest: chunk_size " + std::to_string(m.chunk_size) +
                                 " out of range");
        std::uint64_t expected = (m.raw_size + m.chunk_size - 1) / m.chunk_size;
        const json& chunks = j.at("chunks");
        if (!chunks.is_array() || chunks.size() != expected)
            return Status::error("manifest: " + std::to_string(chunks.size()) +
                                 " chunks listed, raw_size needs " + std::to_string(expected));
        m.chunks.reserve(chunks.size());
        for (std::size_t i = 0; i < chunks.size(); ++i) {
            const json& c = chunks[i];
            if (!c.is_array() || c.size() != 3)
                return Status::error("manifest: chunk " + std::to_string(i) + " is malformed");
            ChunkEntry e;
            auto d = digest_from_hex(c[0].get<std::string>());
            if (!d) return Status::error("manifest: chunk " + std::to_string(i) + " has a bad hash");
            e.sha256 = *d;
            e.pack_offset = unsigned_at<std::uint64_t>(c[1], "a chunk's pack offset");
            e.pack_size = unsigned_at<std::uint32_t>(c[2], "a chunk's pack size");
            if (e.pack_offset > m.pack_size || e.pack_size > m.pack_size - e.pack_offset)
                return Status::error("manifest: chunk " + std::to_string(i) +
                                     " lies outside the pack");
            m.chunks.push_back(e);
        }
        return m;
    } catch (const json::exception& e) {
        return Status::error(std::string("manifest: missing or mistyped field (") + e.what() + ")");
    } catch (const std::range_error& e) {
        return Status::error(std::string("manifest: ") + e.what());
    }
}

Result<Manifest> load_manifest_unverified(const std::filesystem::path& image_dir) {
    auto text = read_file(image_dir / kManifestFile);
    if (!text) return text.status();
    auto m = Manifest::parse(*text);
    if (!m) return m.status().context((image_dir / kManifestFile).string());
    return m;
}

Result<Manifest> load_manifest(const std::filesystem::path& image_dir, const VerifyKey& key) {
    auto m = load_manifest_unverified(image_dir);
    if (!m) return m;
    if (auto s = m->verify_signature(key); !s) return s.context((image_dir / kManifestFile).string());
    return m;
}

Status ManifestPin::check(const Manifest& m) const {
    std::string sha = to_hex(m.image_sha256);
    bool matches = (image_sha256.empty() || image_sha256 == sha) && (name.empty() || name == m.name) &&
                   (version.empty() || version == m.version);
    if (matches) return Status::ok();
    auto describe = [](const std::string& n, const std::string& v, const std::string& hex) {
        return (n.empty() ? std::string("any image") : n) + "@" + (v.empty() ? "any" : v) +
               " (sha256 " + (hex.empty() ? std::string("any") : hex.substr(0, 16) + "...") + ")";
    };
    return Status::error("the sender offers " + describe(m.name, m.version, sha) +
                         ", not the expected " + describe(name, version, image_sha256));
}

}  // namespace imaging
