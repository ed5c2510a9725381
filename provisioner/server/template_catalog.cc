#include "template_catalog.h"

#include <algorithm>
#include <map>
#include <system_error>

#include "provisioner/vmhost/template_ref.h"
#include "template_file.h"
#include "template_image.h"

namespace provisioner::server {

namespace fs = std::filesystem;

namespace {

Status bad(const std::string& message) {
    return Status::error(Code::invalid_argument, message);
}

vmhost::TemplateInfo as_info(const Template& t) {
    vmhost::TemplateInfo info;
    info.name = t.name;
    info.version = t.version;
    info.labels = t.labels;
    info.parent = t.backing;
    info.format = t.format;
    info.added = t.created_at;  // milliseconds: choose_template only compares them
    info.last_used = t.last_used_at.value_or(0);
    return info;
}

const Template* find_ref(const std::vector<Template>& catalog, const std::string& ref) {
    for (const Template& t : catalog)
        if (t.ref() == ref) return &t;
    return nullptr;
}

Status check_names(const NewTemplate& r) {
    if (!vmhost::valid_template_name(r.name))
        return bad("bad template name \"" + r.name + "\" (A-Z a-z 0-9 . _ -, at most 128)");
    if (!vmhost::valid_template_name(r.version))
        return bad("bad version \"" + r.version + "\" (A-Z a-z 0-9 . _ -, at most 128)");
    if (!r.backing.empty()) {
        auto ref = vmhost::parse_template_ref(r.backing);
        if (!ref || ref->version.empty() || !ref->labels.empty())
            return bad("the backing template must be given as NAME@VERSION, not \"" + r.backing +
                       "\"");
        if (r.backing == r.name + "@" + r.version) return bad("a template cannot back itself");
    }
    return Status::ok();
}

// The copy's header against the request: a qcow2 child names its backing's file; a base has
// no backing file.
Status check_chain(const TemplateFile& file, const std::string& backing,
                   const std::optional<Template>& base) {
    if (!base) {
        if (!file.backing_file.empty())
            return bad("the image has a backing file (" + file.backing_file +
                       "); give its template with backing");
        return Status::ok();
    }
    if (file.format != "qcow2") return bad("a template with a backing is a qcow2 overlay");
    const std::string expected = backing + "." + base->format;
    // Relative and bare: a host's store holds the two side by side, wherever its directory is.
    if (file.backing_file != expected)
        return bad("the image's backing file is \"" + file.backing_file + "\", not " + expected +
                   " (make it with qemu-img create -f qcow2 -b " + expected + " -F " +
                   base->format + ")");
    return Status::ok();
}

void remove_quietly(const fs::path& p) {
    std::error_code ec;
    fs::remove(p, ec);
}

}  // namespace

Result<std::vector<std::string>> clean_labels(std::vector<std::string> labels) {
    for (const std::string& l : labels)
        if (!vmhost::valid_label(l))
            return bad("bad label \"" + l + "\" (A-Z a-z 0-9 . _ : / + -, at most 128)");
    std::sort(labels.begin(), labels.end());
    labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
    return labels;
}

Status check_new_template(Store& store, const NewTemplate& request) {
    if (Status s = check_names(request); !s) return s;
    if (auto labels = clean_labels(request.labels); !labels) return labels.status();
    if (store.find_template(request.name, request.version))
        return Status::error(Code::conflict,
                             "template " + request.name + "@" + request.version + " exists already");
    if (!request.backing.empty()) {
        const auto at = request.backing.find('@');
        auto found =
            store.find_template(request.backing.substr(0, at), request.backing.substr(at + 1));
        if (!found) return found.status();
    }
    return Status::ok();
}

Result<Template> add_template(Store& store, const fs::path& dir, const fs::path& signing_key,
                              const NewTemplate& request, const TemplateProgress& progress) {
    if (Status s = check_new_template(store, request); !s) return s;
    auto labels = clean_labels(request.labels);
    if (!labels) return labels.status();
    const std::string ref = request.name + "@" + request.version;
    std::optional<Template> base;
    if (!request.backing.empty()) {
        const auto at = request.backing.find('@');
        auto found =
            store.find_template(request.backing.substr(0, at), request.backing.substr(at + 1));
        if (!found) return found.status();
        base = *found;
    }
    CopyProgress copying;
    if (progress)
        copying = [&progress](std::uint64_t done, std::uint64_t total) {
            progress("copying", done, total);
        };
    auto file = copy_template_file(request.source, dir, ref, copying);
    if (!file) return file.status();
    Template t;
    t.name = request.name;
    t.version = request.version;
    t.labels = std::move(*labels);
    t.format = file->format;
    t.size = file->size;
    t.sha256 = file->sha256;
    t.backing = request.backing;
    t.path = file->path.string();
    Status checked = check_chain(*file, request.backing, base);
    bool packed = false;
    if (checked) {
        PackProgress packing;
        if (progress)
            packing = [&progress](std::uint64_t done, std::uint64_t total) {
                progress("packing", done, total);
            };
        checked = pack_template_image(file->path, dir, t.name, t.version, signing_key, packing);
        packed = checked.is_ok();
    }
    auto added = checked ? store.add_template(t) : Result<Template>(checked);
    if (!added) {
        remove_quietly(file->path);
        if (packed) remove_template_image(dir, ref);
    }
    return added;
}

Result<Template> resolve_template(const std::vector<Template>& catalog, const std::string& ref) {
    auto parsed = vmhost::parse_template_ref(ref);
    if (!parsed) return parsed.status();
    std::vector<vmhost::TemplateInfo> infos;
    infos.reserve(catalog.size());
    for (const Template& t : catalog) infos.push_back(as_info(t));
    auto chosen = vmhost::choose_template(infos, *parsed);
    if (!chosen) return chosen.status();
    return *find_ref(catalog, chosen->id());
}

SiteTemplates resolve_site_templates(const std::vector<Template>& catalog, site::Site site,
                                     const reconcile::ActualState& actual) {
    std::map<std::string, std::string> running;  // VM name -> the template it runs on
    for (const auto& host : actual.hosts)
        for (const auto& vm : host.vms) running[vm.name] = vm.image;
    SiteTemplates out;
    for (site::Vm& vm : site.vms) {
        if (vm.image.kind == site::TemplateRef::Kind::none) continue;
        const std::string ref = vm.image.str();
        auto chosen = resolve_template(catalog, ref);
        if (!chosen) {
            out.problems.push_back({vm.line, "VM " + vm.name + ": " + chosen.status().message()});
            continue;
        }
        auto current = running.find(vm.name);
        const Template* kept =
            current == running.end() ? nullptr : find_ref(catalog, current->second);
        if (kept && resolve_template({*kept}, ref)) chosen = *kept;
        vm.image =
            site::TemplateRef{site::TemplateRef::Kind::name, chosen->name, chosen->version, {}};
    }
    out.site = std::move(site);
    return out;
}

}  // namespace provisioner::server
