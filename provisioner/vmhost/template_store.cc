#include "provisioner/vmhost/template_store.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "base/atomic_file.h"
#include "provisioner/vmhost/file_ops.h"
#include "provisioner/vmhost/qemu_img.h"
#include "template_index.h"

namespace provisioner::vmhost {

namespace fs = std::filesystem;

namespace {

constexpr const char* kIndexFile = "templates.json";

void remove_quietly(const fs::path& p) {
    std::error_code ec;
    fs::remove(p, ec);
}

// The same file, whether named by a relative or an absolute path, or through a symlink.
bool same_file(const fs::path& a, const fs::path& b) {
    std::error_code ec;
    bool same = fs::equivalent(a, b, ec);
    return !ec && same;
}

Result<std::vector<std::string>> clean_labels(std::vector<std::string> labels) {
    for (const auto& l : labels)
        if (!valid_label(l))
            return Status::error(Code::invalid_argument,
                                 "bad label '" + l + "' (A-Z a-z 0-9 . _ : / + -)");
    std::sort(labels.begin(), labels.end());
    labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
    return labels;
}

}  // namespace

TemplateStore::TemplateStore(fs::path dir, TemplateStoreOptions options)
    : dir_(std::move(dir)), options_(std::move(options)) {
    if (!options_.runner) {
        owned_runner_ = make_process_runner();
        options_.runner = owned_runner_.get();
    }
    if (!options_.clock) options_.clock = &base::real_clock();
}

TemplateStore::~TemplateStore() = default;

std::int64_t TemplateStore::unix_now() const {
    return std::chrono::duration_cast<std::chrono::seconds>(
               options_.clock->wall_now().time_since_epoch())
        .count();
}

Result<std::unique_ptr<TemplateStore>> TemplateStore::open(const fs::path& dir,
                                                           TemplateStoreOptions options) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Status::error(Code::storage, "creating " + dir.string() + ": " + ec.message());
    fs::path abs = fs::absolute(dir, ec);
    std::unique_ptr<TemplateStore> store(new TemplateStore(abs, std::move(options)));
    fs::path index = abs / kIndexFile;
    if (fs::exists(index, ec)) {
        std::ifstream in(index);
        std::stringstream text;
        text << in.rdbuf();
        if (!in) return Status::error(Code::storage, "reading " + index.string());
        auto loaded = index_from_json(text.str(), index.string());
        if (!loaded) return loaded.status();
        store->templates_ = std::move(*loaded);
    }
    return store;
}

Status TemplateStore::save(bool durable) {
    return base::write_file_atomically(
        dir_ / kIndexFile, index_to_json(templates_), fs::perms(0644),
        durable ? base::Durability::durable : base::Durability::advisory);
}

TemplateInfo* TemplateStore::find(const std::string& id) {
    for (auto& t : templates_)
        if (t.id() == id) return &t;
    return nullptr;
}

fs::path TemplateStore::path_of(const TemplateInfo& t) const {
    return dir_ / t.file;
}

std::vector<TemplateInfo> TemplateStore::list() const {
    auto out = templates_;
    std::sort(out.begin(), out.end(), [](const TemplateInfo& a, const TemplateInfo& b) {
        if (a.name != b.name) return a.name < b.name;
        return compare_versions(a.version, b.version) < 0;
    });
    return out;
}

Result<TemplateInfo> TemplateStore::resolve(const std::string& ref) const {
    auto parsed = parse_template_ref(ref);
    if (!parsed) return parsed.status();
    return choose_template(templates_, *parsed);
}

Result<TemplateInfo> TemplateStore::add(const TemplateSpec& spec, const fs::path& image,
                                        AddMode mode) {
    TemplateInfo t{spec.name, spec.version, {}, spec.parent, spec.format, "", 0, 0, 0};
    const std::string what = "adding template " + t.id();
    if (!valid_template_name(t.name) || !valid_template_name(t.version))
        return Status::error(Code::invalid_argument,
                             what + ": bad name or version (A-Z a-z 0-9 . _ -)");
    if (t.format != "raw" && t.format != "qcow2")
        return Status::error(Code::invalid_argument, what + ": format must be raw or qcow2");
    auto labels = clean_labels(spec.labels);
    if (!labels) return labels.status().context(what);
    t.labels = std::move(*labels);
    if (find(t.id())) return Status::error(Code::conflict, what + ": it exists");
    const TemplateInfo* parent = nullptr;
    if (!t.parent.empty()) {
        parent = find(t.parent);
        if (!parent) return Status::error(Code::not_found, what + ": no parent " + t.parent);
        if (t.format != "qcow2")
            return Status::error(Code::invalid_argument, what + ": a child template is qcow2");
    }
    std::error_code ec;
    if (!fs::is_regular_file(image, ec))
        return Status::error(Code::not_found, what + ": no image file " + image.string());
    t.file = t.id() + "." + t.format;
    const fs::path dest = dir_ / t.file;
    const fs::path partial = partial_path(dest);

    // Placed under a partial name in the store, so that a relative backing name resolves.
    Status placed;
    if (mode == AddMode::move) {
        fs::rename(image, partial, ec);
    } else if (mode == AddMode::hard_link) {
        fs::create_hard_link(image, partial, ec);
    } else {
        placed = copy_sparse(image, partial);
    }
    if (ec)
        placed = Status::error(Code::storage, "placing " + image.string() + ": " + ec.message());
    if (!placed) return placed.context(what);
    auto unplace = [&] {
        if (mode == AddMode::move) {
            std::error_code ignored;
            fs::rename(partial, image, ignored);
        } else {
            remove_quietly(partial);
        }
    };

    QemuImg qemu_img(*options_.runner, options_.qemu_img);
    auto chain = qemu_img.backing_chain(partial);
    Status checked = chain.status();
    if (checked && (*chain)[0].format != t.format)
        checked = Status::error(Code::invalid_argument,
                                "the image is " + (*chain)[0].format + ", not " + t.format);
    if (checked && !parent && !(*chain)[0].backing_filename.empty())
        checked = Status::error(Code::invalid_argument, "the image has a backing file (" +
                                                            (*chain)[0].backing_filename +
                                                            ") but no parent is given");
    if (checked && parent &&
        (chain->size() < 2 || !same_file((*chain)[1].filename, path_of(*parent))))
        checked = Status::error(Code::invalid_argument,
                                "the image's backing file is not " + parent->file);
    if (checked) checked = rename_no_replace(partial, dest);
    if (!checked) {
        unplace();
        return checked.context(what);
    }
    t.added = unix_now();
    templates_.push_back(t);
    if (Status s = save(); !s) {
        templates_.pop_back();
        fs::rename(dest, partial, ec);
        unplace();
        return s.context(what);
    }
    return t;
}

Result<TemplateInfo> TemplateStore::add_overlay(const TemplateSpec& spec) {
    const std::string what = "adding template " + spec.name + "@" + spec.version;
    if (spec.parent.empty())
        return Status::error(Code::invalid_argument, what + ": an overlay needs a parent");
    const TemplateInfo* parent = find(spec.parent);
    if (!parent) return Status::error(Code::not_found, what + ": no parent " + spec.parent);
    if (!valid_template_name(spec.name) || !valid_template_name(spec.version))
        return Status::error(Code::invalid_argument,
                             what + ": bad name or version (A-Z a-z 0-9 . _ -)");
    if (find(spec.name + "@" + spec.version))
        return Status::error(Code::conflict, what + ": it exists");
    const fs::path partial = partial_path(dir_ / (spec.name + "@" + spec.version + ".qcow2"));
    QemuImg qemu_img(*options_.runner, options_.qemu_img);
    // Relative backing name: qemu resolves it against the overlay's own directory.
    Status made = qemu_img.create_overlay(parent->file, parent->format, partial);
    if (made) made = base::sync_path(partial);
    if (!made) {
        remove_quietly(partial);
        return made.context(what);
    }
    TemplateSpec child = spec;
    child.format = "qcow2";
    return add(child, partial, AddMode::move);
}

Status TemplateStore::set_labels(const std::string& id, std::vector<std::string> labels) {
    TemplateInfo* t = find(id);
    if (!t) return Status::error(Code::not_found, "no template " + id);
    auto clean = clean_labels(std::move(labels));
    if (!clean) return clean.status().context("labelling " + id);
    std::swap(t->labels, *clean);
    if (Status s = save(); !s) {
        std::swap(t->labels, *clean);
        return s;
    }
    return Status::ok();
}

Status TemplateStore::remove(const std::string& id) {
    auto it = std::find_if(templates_.begin(), templates_.end(),
                           [&](const TemplateInfo& t) { return t.id() == id; });
    if (it == templates_.end()) return Status::error(Code::not_found, "no template " + id);
    for (const auto& t : templates_)
        if (t.parent == id)
            return Status::error(Code::conflict, "template " + id + " is the parent of " + t.id());
    TemplateInfo gone = *it;
    templates_.erase(it);
    if (Status s = save(); !s) {
        templates_.push_back(gone);
        return s;
    }
    remove_quietly(path_of(gone));
    return Status::ok();
}

Status TemplateStore::record_use(const std::string& id) {
    TemplateInfo* t = find(id);
    TemplateInfo before = *t;
    t->last_used = unix_now();
    t->use_count += 1;
    // Use times only steer choices and disposal: losing the last few in a crash is harmless,
    // and not syncing them keeps a deploy at one fsync (the disk's).
    if (Status s = save(/*durable=*/false); !s) {
        *t = before;
        return s;
    }
    return Status::ok();
}

}  // namespace provisioner::vmhost
