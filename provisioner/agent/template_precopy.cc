#include "provisioner/agent/template_precopy.h"

#include <fstream>
#include <system_error>

#include "imaging/digest.h"
#include "imaging/secret.h"
#include "provisioner/vmhost/template_ref.h"

namespace provisioner::agent {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

Status bad(const std::string& message) {
    return Status::error(Code::invalid_argument, message);
}

bool is_count(const json& j) {
    return j.is_number_unsigned() || (j.is_number_integer() && j.get<std::int64_t>() >= 0);
}

std::string text(const json& j, const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Result<HotTemplate> parse_entry(const json& entry) {
    if (!entry.is_object()) return bad("a hot template is not an object");
    HotTemplate t;
    const std::string id = text(entry, "template");
    auto ref = vmhost::parse_template_ref(id);
    if (!ref || ref->version.empty() || !ref->labels.empty())
        return bad("hot template \"" + id + "\" is not NAME@VERSION");
    t.name = ref->name;
    t.version = ref->version;
    t.format = text(entry, "format");
    t.backing = text(entry, "backing");
    t.sha256 = text(entry, "sha256");
    t.delta = text(entry, "delta");
    t.secret = text(entry, "secret");
    auto size = entry.find("size");
    auto delta = entry.find("delta");
    const bool delta_ok = delta != entry.end() && (delta->is_null() || !t.delta.empty());
    if ((t.format != "raw" && t.format != "qcow2") || t.sha256.size() != 64 || !delta_ok ||
        size == entry.end() || !is_count(*size))
        return bad("hot template " + id + ": needs format, size, sha256 and delta");
    if (!t.delta.empty() && !imaging::secret_from_hex(t.secret))
        return bad("hot template " + id + ": its delta server's \"secret\" is not 64 hex digits");
    t.size = size->get<std::uint64_t>();
    if (auto labels = entry.find("labels"); labels != entry.end() && labels->is_array())
        for (const json& l : *labels)
            if (l.is_string()) t.labels.push_back(l.get<std::string>());
    return t;
}

Result<std::string> file_sha256(const fs::path& file, std::uint64_t& size) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return Status::error(Code::storage, "cannot read " + file.string());
    imaging::Sha256Stream hash;
    std::vector<char> buffer(1 << 20);
    size = 0;
    while (in) {
        in.read(buffer.data(), std::streamsize(buffer.size()));
        const auto n = std::size_t(in.gcount());
        if (n == 0) break;
        hash.update({reinterpret_cast<const std::uint8_t*>(buffer.data()), n});
        size += n;
    }
    if (in.bad()) return Status::error(Code::storage, "reading " + file.string());
    return imaging::to_hex(hash.finish());
}

}  // namespace

Result<HotTemplates> parse_hot_templates(const json& templates) {
    if (!templates.is_object()) return bad("\"templates\" is not an object");
    HotTemplates out;
    auto cool_down = templates.find("cool_down");
    if (cool_down == templates.end() || !is_count(*cool_down))
        return bad("\"templates\" has no cool_down");
    out.cool_down = std::chrono::seconds(cool_down->get<std::int64_t>());
    auto hot = templates.find("hot");
    if (hot == templates.end() || !hot->is_array()) return bad("\"templates\" has no hot list");
    for (const json& entry : *hot) {
        auto t = parse_entry(entry);
        if (!t) return t.status();
        out.hot.push_back(std::move(*t));
    }
    if (auto pubkey = templates.find("pubkey"); pubkey != templates.end()) {
        constexpr std::size_t kMaxPem = 16 * 1024;
        if (!pubkey->is_string() || pubkey->get_ref<const std::string&>().size() > kMaxPem ||
            !pubkey->get_ref<const std::string&>().starts_with("-----BEGIN PUBLIC KEY-----"))
            return bad("\"templates\" has a pubkey that is not a PEM public key");
        out.pubkey_pem = pubkey->get<std::string>();
    }
    return out;
}

std::optional<vmhost::TemplateInfo> choose_basis(const std::vector<vmhost::TemplateInfo>& held,
                                                 const HotTemplate& t) {
    std::optional<vmhost::TemplateInfo> best;
    for (const auto& h : held) {
        if (h.name != t.name || h.format != t.format ||
            vmhost::compare_versions(h.version, t.version) >= 0)
            continue;
        if (!best || vmhost::compare_versions(h.version, best->version) > 0) best = h;
    }
    return best;
}

fs::path precopy_path(const fs::path& store_dir, const HotTemplate& t) {
    return store_dir / ".precopy" / (t.id() + "." + t.format);
}

Status check_precopied(const fs::path& file, const HotTemplate& t) {
    std::uint64_t size = 0;
    auto sha256 = file_sha256(file, size);
    if (!sha256) return sha256.status();
    if (size != t.size)
        return bad("template " + t.id() + ": received " + std::to_string(size) +
                   " bytes, the server's record says " + std::to_string(t.size));
    if (*sha256 != t.sha256)
        return bad("template " + t.id() + ": the received file's SHA-256 is " + *sha256 +
                   ", the server's record says " + t.sha256);
    return Status::ok();
}

Result<PrecopyReport> receive_template(const HotTemplate& t, const fs::path& output,
                                       const std::optional<fs::path>& basis,
                                       const PrecopyTools& tools) {
    const std::string what = "pre-copying template " + t.id() + " from " + t.delta;
    std::error_code ec;
    fs::create_directories(output.parent_path(), ec);
    fs::remove(output, ec);
    auto fail = [&](Status s) {
        std::error_code ignored;
        fs::remove(output, ignored);
        return s.context(what);
    };
    auto secret = imaging::secret_from_hex(t.secret);
    if (!secret) return fail(bad("no secret for its delta server: " + secret.status().message()));
    // Beside the output, in the store's .precopy/, whose leftovers a start removes.
    const fs::path secret_file = output.string() + ".secret";
    struct RemoveFile {
        const fs::path& file;
        ~RemoveFile() {
            std::error_code ignored;
            fs::remove(file, ignored);
        }
    } remove_secret{secret_file};
    if (imaging::Status s = imaging::write_secret_file(secret_file, *secret); !s)
        return fail(Status::error(Code::storage, s.message()));
    if (basis) {
        std::vector<std::string> cp{"cp", "--sparse=always", "--reflink=auto", basis->string(),
                                    output.string()};
        auto copied = tools.cp->run(cp);
        if (!copied) return fail(copied.status());
        if (copied->exit_code != 0)
            return fail(Status::error(Code::storage,
                                      "copying the basis " + basis->string() + ": " + copied->err));
    }
    ImagingOutcome outcome = tools.runner->run(
        {tools.imaging, "receive", "--transport", "delta", "--from", t.delta, "--output",
         output.string(), "--pubkey", tools.pubkey_file, "--secret-file", secret_file.string(),
         "--progress-json"},
        nullptr);
    if (!outcome.verified()) return fail(Status::error(Code::storage, outcome.error()));
    if (Status s = check_precopied(output, t); !s) return fail(s);
    PrecopyReport report;
    report.bytes_received = outcome.result->value("bytes_received", std::uint64_t(0));
    report.bytes_reused = outcome.result->value("bytes_reused", std::uint64_t(0));
    report.seconds = outcome.result->value("seconds", 0.0);
    return report;
}

}  // namespace provisioner::agent
