// SqliteStore: the template catalog (templates and their labels).
#include <string>

#include "sqlite_store.h"

namespace provisioner {

using sqlite::Query;

namespace {

// The backing template's name@version comes from a self-join, so a record reads in one row.
#define TEMPLATE_SELECT                                                               \
    "SELECT t.id, t.name, t.version, t.format, t.size, t.sha256,"                     \
    " coalesce(b.name || '@' || b.version, ''), t.path, t.created_at, t.last_used_at" \
    " FROM templates t LEFT JOIN templates b ON b.id = t.backing_id"

Template read_template(const Query& q) {
    Template t;
    t.id = q.i64(0);
    t.name = q.text(1);
    t.version = q.text(2);
    t.format = q.text(3);
    t.size = std::uint64_t(q.i64(4));
    t.sha256 = q.text(5);
    t.backing = q.text(6);
    t.path = q.text(7);
    t.created_at = q.i64(8);
    t.last_used_at = q.opt_i64(9);
    return t;
}

Status no_template(TemplateId id) {
    return Status::error(Code::not_found, "no template with id " + std::to_string(id));
}

// "debian@3" -> {"debian", "3"}; the version is empty without an '@'.
std::pair<std::string, std::string> split_ref(const std::string& ref) {
    auto at = ref.find('@');
    if (at == std::string::npos) return {ref, ""};
    return {ref.substr(0, at), ref.substr(at + 1)};
}

}  // namespace

Result<std::vector<std::string>> SqliteStore::read_labels(TemplateId id) {
    auto q = db_->query("SELECT label FROM template_labels WHERE template_id = ? ORDER BY label");
    if (!q) return q.status();
    q->bind(id);
    std::vector<std::string> labels;
    for (;;) {
        auto row = q->step();
        if (!row) return row.status();
        if (!*row) return labels;
        labels.push_back(q->text(0));
    }
}

Status SqliteStore::write_labels(TemplateId id, const std::vector<std::string>& labels) {
    auto clear = db_->query("DELETE FROM template_labels WHERE template_id = ?");
    if (!clear) return clear.status();
    if (Status s = clear->bind(id).run(); !s) return s;
    for (const std::string& label : labels) {
        auto q =
            db_->query("INSERT OR IGNORE INTO template_labels (template_id, label) VALUES (?, ?)");
        if (!q) return q.status();
        if (Status s = q->bind(id).bind(label).run(); !s) return s;
    }
    return Status::ok();
}

Result<Template> SqliteStore::add_template(const Template& t) {
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
        auto q = db_->query(
            "INSERT INTO templates (name, version, format, size, sha256, backing_id, path,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
        if (!q) return q.status();
        out.created_at = now();
        out.last_used_at.reset();
        if (Status r = q->bind(out.name)
                           .bind(out.version)
                           .bind(out.format)
                           .bind(std::int64_t(out.size))
                           .bind(out.sha256)
                           .bind(backing_id)
                           .bind(out.path)
                           .bind(out.created_at)
                           .run();
            !r)
            return r;
        out.id = db_->last_insert_rowid();
        return write_labels(out.id, out.labels);
    });
    if (!s) return s;
    return out;
}

Result<Template> SqliteStore::find_template(const std::string& name, const std::string& version) {
    std::lock_guard lock(mu_);
    auto q = db_->query(TEMPLATE_SELECT " WHERE t.name = ? AND t.version = ?");
    if (!q) return q.status();
    auto row = q->bind(name).bind(version).step();
    if (!row) return row.status();
    if (!*row) return Status::error(Code::not_found, "no template " + name + "@" + version);
    Template t = read_template(*q);
    auto labels = read_labels(t.id);
    if (!labels) return labels.status();
    t.labels = std::move(*labels);
    return t;
}

Result<std::vector<Template>> SqliteStore::list_templates() {
    std::lock_guard lock(mu_);
    auto q = db_->query(TEMPLATE_SELECT " ORDER BY t.name, t.id");
    if (!q) return q.status();
    std::vector<Template> out;
    for (;;) {
        auto row = q->step();
        if (!row) return row.status();
        if (!*row) break;
        out.push_back(read_template(*q));
    }
    for (Template& t : out) {
        auto labels = read_labels(t.id);
        if (!labels) return labels.status();
        t.labels = std::move(*labels);
    }
    return out;
}

Status SqliteStore::set_template_labels(TemplateId id, const std::vector<std::string>& labels) {
    std::lock_guard lock(mu_);
    return db_->transaction([&]() -> Status {
        auto q = db_->query("SELECT 1 FROM templates WHERE id = ?");
        if (!q) return q.status();
        auto row = q->bind(id).step();
        if (!row) return row.status();
        if (!*row) return no_template(id);
        return write_labels(id, labels);
    });
}

Status SqliteStore::mark_template_used(TemplateId id, Timestamp when) {
    std::lock_guard lock(mu_);
    auto q = db_->query("UPDATE templates SET last_used_at = ? WHERE id = ?");
    if (!q) return q.status();
    if (Status s = q->bind(when).bind(id).run(); !s) return s;
    if (db_->changes() == 0) return no_template(id);
    return Status::ok();
}

Status SqliteStore::remove_template(TemplateId id) {
    std::lock_guard lock(mu_);
    auto q = db_->query("DELETE FROM templates WHERE id = ?");
    if (!q) return q.status();
    if (Status s = q->bind(id).run(); !s) {
        if (s.code() == Code::conflict)
            return Status::error(Code::conflict, "template " + std::to_string(id) +
                                                     " is the backing of another template");
        return s;
    }
    if (db_->changes() == 0) return no_template(id);
    return Status::ok();
}

}  // namespace provisioner
