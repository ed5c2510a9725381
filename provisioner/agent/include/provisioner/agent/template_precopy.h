// SO-MVDS's pre-copy of hot templates, one template at a time: the server's hot list (the
// "templates" of its answer to POST /api/v1/agent/vms, provisioner/API.md), the basis a copy
// starts from (an older version of the same template, so that the delta transport moves only
// the chunks that changed), `imaging receive --transport delta` into STORE/.precopy/, and the
// check of the result against the list's size and SHA-256 before the store takes it.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "provisioner/agent/imaging_runner.h"
#include "provisioner/status.h"
#include "provisioner/vmhost/process.h"
#include "provisioner/vmhost/template_store.h"

namespace provisioner::agent {

struct HotTemplate {
    std::string name;
    std::string version;
    std::string format;   // raw or qcow2
    std::string backing;  // name@version, or "" for a base
    std::vector<std::string> labels;
    std::uint64_t size = 0;
    std::string sha256;  // hex, of the whole file
    std::string delta;   // ADDR:PORT of the server's `imaging serve` for it; "" until it listens
    std::string secret;  // 64 hex digits that server authenticates with; set with delta

    std::string id() const { return name + "@" + version; }
};

struct HotTemplates {
    std::vector<HotTemplate> hot;  // every backing before the templates on it
    std::chrono::seconds cool_down{0};
    std::string pubkey_pem;  // the server's image signing key, "" when the answer has none
};

// The answer's "templates" object. invalid_argument naming the first bad entry (one with a
// "delta" needs its "secret"), or a "pubkey" that is not a PEM public key.
Result<HotTemplates> parse_hot_templates(const nlohmann::json& templates);

// The store's template a pre-copy of t starts from: the newest version of t's name older
// than t's, with t's format; nullopt when there is none.
std::optional<vmhost::TemplateInfo> choose_basis(const std::vector<vmhost::TemplateInfo>& held,
                                                 const HotTemplate& t);

// STORE/.precopy/NAME@VERSION.FORMAT: where t is received (inside the store's directory, so
// that the store's add can move it in).
std::filesystem::path precopy_path(const std::filesystem::path& store_dir, const HotTemplate& t);

// A file's size and SHA-256 against t's record; invalid_argument saying which differs.
Status check_precopied(const std::filesystem::path& file, const HotTemplate& t);

struct PrecopyTools {
    std::string imaging = "imaging";  // a path, or a name searched on PATH
    std::string pubkey_file;          // the server's image signing key (site.pub)
    ImagingRunner* runner = nullptr;
    vmhost::ProcessRunner* cp = nullptr;  // runs cp for the basis
};

// What a receive came to, for the log.
struct PrecopyReport {
    std::uint64_t bytes_received = 0;  // over the network
    std::uint64_t bytes_reused = 0;    // found in the basis
    double seconds = 0;
};

// Receives t into output: the basis copied there first (sparse, reflinked where the file
// system can), then `imaging receive --transport delta --from t.delta --output OUTPUT
// --pubkey KEY --secret-file OUTPUT.secret` (t.secret, 0600, removed after), then the size and
// SHA-256 checked. On failure output is removed; without t.secret nothing is received.
Result<PrecopyReport> receive_template(const HotTemplate& t, const std::filesystem::path& output,
                                       const std::optional<std::filesystem::path>& basis,
                                       const PrecopyTools& tools);

}  // namespace provisioner::agent
