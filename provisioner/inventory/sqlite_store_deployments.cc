// SqliteStore: images, deployments and their targets.
#include <string>

#include "sqlite_store.h"

namespace provisioner {

using sqlite::Query;

namespace {

#define IMAGE_COLUMNS                                                                           \
    "id, name, version, manifest_sha256, image_sha256, raw_size, stored_size, path, signature," \
    " imported_at"

Image read_image(const Query& q) {
    Image i;
    i.id = q.i64(0);
    i.name = q.text(1);
    i.version = q.text(2);
    i.manifest_sha256 = q.text(3);
    i.image_sha256 = q.text(4);
    i.raw_size = std::uint64_t(q.i64(5));
    i.stored_size = std::uint64_t(q.i64(6));
    i.path = q.text(7);
    i.signature = q.text(8);
    i.imported_at = q.i64(9);
    return i;
}

Deployment read_deployment(const Query& q) {
    Deployment d;
    d.id = q.i64(0);
    d.image = q.i64(1);
    d.transport = parse_transport(q.text(2)).value_or(Transport::delta);
    d.state = parse_deployment_state(q.text(3)).value_or(DeploymentState::failed);
    d.created_at = q.i64(4);
    d.finished_at = q.opt_i64(5);
    return d;
}

template <class T, class Read>
Result<std::vector<T>> read_all(Query& q, Read read) {
    std::vector<T> out;
    for (;;) {
        auto row = q.step();
        if (!row) return row.status();
        if (!*row) return out;
        out.push_back(read(q));
    }
}

Status not_found(const char* what, std::int64_t id) {
    return Status::error(Code::not_found,
                         std::string("no ") + what + " with id " + std::to_string(id));
}

}  // namespace

Result<Image> SqliteStore::add_image(const Image& image) {
    if (image.name.empty() || image.version.empty())
        return Status::error(Code::invalid_argument, "an image needs a name and a version");
    std::lock_guard lock(mu_);
    if (find_image(image.name, image.version))
        return Status::error(Code::conflict,
                             "image " + image.name + " " + image.version + " is already imported");
    auto q = db_->query(
        "INSERT INTO images (name, version, manifest_sha256, image_sha256,"
        " raw_size, stored_size, path, signature, imported_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!q) return q.status();
    Image out = image;
    out.imported_at = now();
    if (Status s = q->bind(out.name)
                       .bind(out.version)
                       .bind(out.manifest_sha256)
                       .bind(out.image_sha256)
                       .bind(std::int64_t(out.raw_size))
                       .bind(std::int64_t(out.stored_size))
                       .bind(out.path)
                       .bind(out.signature)
                       .bind(out.imported_at)
                       .run();
        !s)
        return s;
    out.id = db_->last_insert_rowid();
    return out;
}

Result<Image> SqliteStore::get_image(ImageId id) {
    std::lock_guard lock(mu_);
    auto q = db_->query("SELECT " IMAGE_COLUMNS " FROM images WHERE id = ?");
    if (!q) return q.status();
    auto row = q->bind(id).step();
    if (!row) return row.status();
    if (!*row) return not_found("image", id);
    return read_image(*q);
}

Result<Image> SqliteStore::find_image(const std::string& name, const std::string& version) {
    std::lock_guard lock(mu_);
    auto q = db_->query("SELECT " IMAGE_COLUMNS " FROM images WHERE name = ? AND version = ?");
    if (!q) return q.status();
    auto row = q->bind(name).bind(version).step();
    if (!row) return row.status();
    if (!*row) return Status::error(Code::not_found, "no image " + name + "@" + version);
    return read_image(*q);
}

Result<std::vector<Image>> SqliteStore::list_images() {
    std::lock_guard lock(mu_);
    auto q = db_->query("SELECT " IMAGE_COLUMNS " FROM images ORDER BY name, version");
    if (!q) return q.status();
    return read_all<Image>(*q, read_image);
}

Status SqliteStore::remove_image(ImageId id) {
    std::lock_guard lock(mu_);
    auto q = db_->query("DELETE FROM images WHERE id = ?");
    if (!q) return q.status();
    if (Status s = q->bind(id).run(); !s) {
        if (s.code() == Code::conflict)
            return Status::error(Code::conflict, "image " + std::to_string(id) +
                                                     " is in use by a host or a deployment");
        return s;
    }
    if (db_->changes() == 0) return not_found("image", id);
    return Status::ok();
}

Result<Deployment> SqliteStore::create_deployment(ImageId image, Transport transport,
                                                  const std::vector<HostId>& hosts) {
    if (hosts.empty())
        return Status::error(Code::invalid_argument, "a deployment needs at least one host");
    std::lock_guard lock(mu_);
    std::optional<Deployment> created;
    Status s = db_->transaction([&]() -> Status {
        if (auto img = get_image(image); !img) return img.status();
        auto q = db_->query(
            "INSERT INTO deployments (image_id, transport, state, created_at)"
            " VALUES (?, ?, 'running', ?)");
        if (!q) return q.status();
        Deployment d;
        d.image = image;
        d.transport = transport;
        d.created_at = now();
        if (Status r = q->bind(image).bind(to_string(transport)).bind(d.created_at).run(); !r)
            return r;
        d.id = db_->last_insert_rowid();
        for (HostId host : hosts) {
            if (auto h = get_host(host); !h) return h.status();
            auto t = db_->query(
                "INSERT INTO deployment_targets (deployment_id, host_id, state,"
                " transport) VALUES (?, ?, 'pending', ?)");
            if (!t) return t.status();
            if (Status r = t->bind(d.id).bind(host).bind(to_string(transport)).run(); !r)
                return r.code() == Code::conflict
                           ? Status::error(Code::invalid_argument,
                                           "host " + std::to_string(host) + " listed twice")
                           : r;
        }
        created = d;
        return Status::ok();
    });
    if (!s) return s;
    return *created;
}

Result<Deployment> SqliteStore::get_deployment(DeploymentId id) {
    std::lock_guard lock(mu_);
    auto q = db_->query(
        "SELECT id, image_id, transport, state, created_at, finished_at"
        " FROM deployments WHERE id = ?");
    if (!q) return q.status();
    auto row = q->bind(id).step();
    if (!row) return row.status();
    if (!*row) return not_found("deployment", id);
    return read_deployment(*q);
}

Result<std::vector<Deployment>> SqliteStore::list_deployments() {
    std::lock_guard lock(mu_);
    auto q = db_->query(
        "SELECT id, image_id, transport, state, created_at, finished_at"
        " FROM deployments ORDER BY id DESC");
    if (!q) return q.status();
    return read_all<Deployment>(*q, read_deployment);
}

Status SqliteStore::set_deployment_state(DeploymentId id, DeploymentState state) {
    std::lock_guard lock(mu_);
    auto q = db_->query("UPDATE deployments SET state = ?, finished_at = ? WHERE id = ?");
    if (!q) return q.status();
    std::optional<Timestamp> finished;
    if (state != DeploymentState::running) finished = now();
    if (Status s = q->bind(to_string(state)).bind(finished).bind(id).run(); !s) return s;
    if (db_->changes() == 0) return not_found("deployment", id);
    return Status::ok();
}

Result<std::vector<DeploymentTarget>> SqliteStore::list_targets(DeploymentId id) {
    std::lock_guard lock(mu_);
    auto q = db_->query(
        "SELECT deployment_id, host_id, state, transport, bytes_done, bytes_total,"
        " started_at, finished_at, error FROM deployment_targets"
        " WHERE deployment_id = ? ORDER BY host_id");
    if (!q) return q.status();
    q->bind(id);
    return read_all<DeploymentTarget>(*q, [](const Query& r) {
        DeploymentTarget t;
        t.deployment = r.i64(0);
        t.host = r.i64(1);
        t.state = parse_target_state(r.text(2)).value_or(TargetState::failed);
        t.transport = parse_transport(r.text(3)).value_or(Transport::delta);
        t.bytes_done = std::uint64_t(r.i64(4));
        t.bytes_total = std::uint64_t(r.i64(5));
        t.started_at = r.opt_i64(6);
        t.finished_at = r.opt_i64(7);
        t.error = r.text(8);
        return t;
    });
}

Status SqliteStore::update_target(const DeploymentTarget& t) {
    std::lock_guard lock(mu_);
    auto q = db_->query(
        "UPDATE deployment_targets SET state = ?, transport = ?, bytes_done = ?,"
        " bytes_total = ?, started_at = ?, finished_at = ?, error = ?"
        " WHERE deployment_id = ? AND host_id = ?");
    if (!q) return q.status();
    if (Status s = q->bind(to_string(t.state))
                       .bind(to_string(t.transport))
                       .bind(std::int64_t(t.bytes_done))
                       .bind(std::int64_t(t.bytes_total))
                       .bind(t.started_at)
                       .bind(t.finished_at)
                       .bind(t.error)
                       .bind(t.deployment)
                       .bind(t.host)
                       .run();
        !s)
        return s;
    if (db_->changes() == 0)
        return Status::error(Code::not_found, "host " + std::to_string(t.host) +
                                                  " is not in deployment " +
                                                  std::to_string(t.deployment));
    return Status::ok();
}

}  // namespace provisioner
