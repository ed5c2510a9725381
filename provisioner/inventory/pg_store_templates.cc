// PgStore: the template catalog (templates and their labels).
#include <string>

#include "pg_store.h"

namespace provisioner {

using pg::Params;
using pg::Rows;

namespace {

#define TEMPLATE_SELECT                                                               \
    "SELECT t.id, t.name, t.version, t.format, t.size, t.sha256,"                     \
    " coalesce(b.name || '@' || b.version, ''), t.path, t.created_at, t.last_used_at" \
    " FROM templates t LEFT JOIN templates b ON b.id = t.backing_id"

Template read_template(const Rows& r, int i) {
    Template t;
    t.id = r.i64(i, 0);
    t.name = r.text(i, 1);
    t.version = r.text(i, 2);
    t.format = r.text(i, 3);
    t.size = std::uint64_t(r.i64(i, 4));
    t.sha256 = r.text(i, 5);
    t.backing = r.text(i, 6);
    t.path = r.text(i, 7);
    t.created_at = r.i64(i, 8);
    t.last_used_at = r.opt_i64(i, 9);
    return t;
}

Status no_template(TemplateId id) {
    return Status::error(Code::not_found, "no template with id " + std::to_string(id));
}

std::pair<std::string, std::string> split_ref(const std::string& ref) {
    auto at = ref.find('@');
    if (at == std::string::npos) return {ref, ""};
    return {ref.substr(0, at), ref.substr(at + 1)};
}

}  // namespace

Result<std::vector<std::string>> PgStore::read_labels(TemplateId id) {
    auto rows =
        db_->query("SELECT label FROM template_labels WHERE template_id = $1 ORDER BY label",
                   Params().add(id));
    if (!rows) return rows.status();
    std::vector<std::string> labels;
    for (int i = 0; i < rows->size(); ++i) labels.push_back(rows->text(i, 0));
    return labels;
}

Status PgStore::write_labels(TemplateId id, const std::vector<std::string>& labels) {
    if (auto cleared =
            db_->write("DELETE FROM template_labels WHERE template_id = $1", Params().add(id));
        !cleared)
        return cleared.status();
    for (const std::string& label : labels) {
        auto rows = db_->write(
            "INSERT INTO template_labels (template_id, label) VALUES ($1, $2)"
            " ON CONFLICT DO NOTHING",
            Params().add(id).add(label));
        if (!rows) return rows.status();
    }
    return Status::ok();
}

Result<Template> PgStore::add_template(const Template& t) {
    if (t.name.empty() || t.version.empty())
        return Status::error(Code::invalid_argument, "a template needs a name and a version");
    if (t.format != "raw" && t.format != "qcow2")
        return Status::error(Code::invalid_argument, "a template's format is raw or qcow2");
    std::lock_guard lock(mu_);
    Template out = t;
    Status s = db_->transaction([&]() -> Status {
        if (find_template(t.name, t.version))
            return Status::error(Code::conflict, "template " + t.ref() + " exists already");
        std::optional<std::int64_t> backing_id;
        if (!t.backing.empty()) {
            auto [name, version] = split_ref(t.backing);
            auto backing = find_template(name, version);
            if (!backing) return backing.status().context("template " + t.ref() + "'s backing");
            backing_id = backing->id;
        }
        out.created_at = now();
        out.last_used_at.reset();
        auto rows = db_->write(
            "INSERT INTO templates (name, version, format, size, sha256, backing_id, path,"
            " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            Params()
                .add(out.name)
                .add(out.version)
                .add(out.format)
                .add(std::int64_t(out.size))
                .add(out.sha256)
                .add(backing_id)
                .add(out.path)
                .add(out.created_at));
        if (!rows) return rows.status();
        out.id = rows->i64(0, 0);
        return write_labels(out.id, out.labels);
    });
    if (!s) return s;
    return out;
}

Result<Template> PgStore::find_template(const std::string& name, const std::string& version) {
    std::lock_guard lock(mu_);
    auto rows = db_->query(TEMPLATE_SELECT " WHERE t.name = $1 AND t.version = $2",
                           Params().add(name).add(version));
    if (!rows) return rows.status();
    if (rows->empty()) return Status::error(Code::not_found, "no template " + name + "@" + version);
    Template t = read_template(*rows, 0);
    auto labels = read_labels(t.id);
    if (!labels) return labels.status();
    t.labels = std::move(*labels);
    return t;
}

Result<std::vector<Template>> PgStore::list_templates() {
    std::lock_guard lock(mu_);
    auto rows = db_->query(TEMPLATE_SELECT " ORDER BY t.name, t.id");
    if (!rows) return rows.status();
    std::vector<Template> out;
    for (int i = 0; i < rows->size(); ++i) out.push_back(read_template(*rows, i));
    for (Template& t : out) {
        auto labels = read_labels(t.id);
        if (!labels) return labels.status();
        t.labels = std::move(*labels);
    }
    return out;
}

Status PgStore::set_template_labels(TemplateId id, const std::vector<std::string>& labels) {
    std::lock_guard lock(mu_);
    return db_->transaction([&]() -> Status {
        auto rows =
            db_->query("SELECT 1 FROM templates WHERE id = $1 FOR UPDATE", Params().add(id));
        if (!rows) return rows.status();
        if (rows->empty()) return no_template(id);
        return write_labels(id, labels);
    });
}

Status PgStore::mark_template_used(TemplateId id, Timestamp when) {
    std::lock_guard lock(mu_);
    auto rows = db_->write("UPDATE templates SET last_used_at = $1 WHERE id = $2",
                           Params().add(when).add(id));
    if (!rows) return rows.status();
    if (rows->changed() == 0) return no_template(id);
    return Status::ok();
}

Status PgStore::remove_template(TemplateId id) {
    std::lock_guard lock(mu_);
    auto rows = db_->write("DELETE FROM templates WHERE id = $1", Params().add(id));
    if (!rows) {
        if (rows.status().code() == Code::conflict)
            return Status::error(Code::conflict, "template " + std::to_string(id) +
                                                     " is the backing of another template");
        return rows.status();
    }
    if (rows->changed() == 0) return no_template(id);
    return Status::ok();
}

}  // namespace provisioner
