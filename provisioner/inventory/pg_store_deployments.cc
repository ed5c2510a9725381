// PgStore: images, deployments and their targets.
#include <string>

#include "pg_store.h"

namespace provisioner {

using pg::Params;
using pg::Rows;

namespace {

#define IMAGE_COLUMNS                                                                           \
    "id, name, version, manifest_sha256, image_sha256, raw_size, stored_size, path, signature," \
    " imported_at"

Image read_image(const Rows& r, int i) {
    Image img;
    img.id = r.i64(i, 0);
    img.name = r.text(i, 1);
    img.version = r.text(i, 2);
    img.manifest_sha256 = r.text(i, 3);
    img.image_sha256 = r.text(i, 4);
    img.raw_size = std::uint64_t(r.i64(i, 5));
    img.stored_size = std::uint64_t(r.i64(i, 6));
    img.path = r.text(i, 7);
    img.signature = r.text(i, 8);
    img.imported_at = r.i64(i, 9);
    return img;
}

Deployment read_deployment(const Rows& r, int i) {
    Deployment d;
    d.id = r.i64(i, 0);
    d.image = r.i64(i, 1);
    d.transport = parse_transport(r.text(i, 2)).value_or(Transport::delta);
    d.state = parse_deployment_state(r.text(i, 3)).value_or(DeploymentState::failed);
    d.created_at = r.i64(i, 4);
    d.finished_at = r.opt_i64(i, 5);
    return d;
}

template <class T, class Read>
Result<std::vector<T>> read_all(Result<Rows> rows, Read read) {
    if (!rows) return rows.status();
    std::vector<T> out;
    out.reserve(std::size_t(rows->size()));
    for (int i = 0; i < rows->size(); ++i) out.push_back(read(*rows, i));
    return out;
}

Status not_found(const char* what, std::int64_t id) {
    return Status::error(Code::not_found,
                         std::string("no ") + what + " with id " + std::to_string(id));
}

}  // namespace

Result<Image> PgStore::add_image(const Image& image) {
    if (image.name.empty() || image.version.empty())
        return Status::error(Code::invalid_argument, "an image needs a name and a version");
    std::lock_guard lock(mu_);
    Image out = image;
    out.imported_at = now();
    auto rows = db_->write(
        "INSERT INTO images (name, version, manifest_sha256, image_sha256,"
        " raw_size, stored_size, path, signature, imported_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        Params()
            .add(out.name)
            .add(out.version)
            .add(out.manifest_sha256)
            .add(out.image_sha256)
            .add(std::int64_t(out.raw_size))
            .add(std::int64_t(out.stored_size))
            .add(out.path)
            .add(out.signature)
            .add(out.imported_at));
    if (!rows) {
        if (rows.status().code() == Code::conflict)
            return Status::error(Code::conflict, "image " + image.name + " " + image.version +
                                                     " is already imported");
        return rows.status();
    }
    out.id = rows->i64(0, 0);
    return out;
}

Result<Image> PgStore::get_image(ImageId id) {
    std::lock_guard lock(mu_);
    auto rows = db_->query("SELECT " IMAGE_COLUMNS " FROM images WHERE id = $1", Params().add(id));
    if (!rows) return rows.status();
    if (rows->empty()) return not_found("image", id);
    return read_image(*rows, 0);
}

Result<Image> PgStore::find_image(const std::string& name, const std::string& version) {
    std::lock_guard lock(mu_);
    auto rows = db_->query("SELECT " IMAGE_COLUMNS " FROM images WHERE name = $1 AND version = $2",
                           Params().add(name).add(version));
    if (!rows) return rows.status();
    if (rows->empty()) return Status::error(Code::not_found, "no image " + name + "@" + version);
    return read_image(*rows, 0);
}

Result<std::vector<Image>> PgStore::list_images() {
    std::lock_guard lock(mu_);
    return read_all<Image>(
        db_->query("SELECT " IMAGE_COLUMNS " FROM images ORDER BY name, version"), read_image);
}

Status PgStore::remove_image(ImageId id) {
    std::lock_guard lock(mu_);
    auto rows = db_->write("DELETE FROM images WHERE id = $1", Params().add(id));
    if (!rows) {
        if (rows.status().code() == Code::conflict)
            return Status::error(Code::conflict, "image " + std::to_string(id) +
                                                     " is in use by a host or a deployment");
        return rows.status();
    }
    if (rows->changed() == 0) return not_found("image", id);
    return Status::ok();
}

Result<Deployment> PgStore::create_deployment(ImageId image, Transport transport,
                                              const std::vector<HostId>& hosts) {
    if (hosts.empty())
        return Status::error(Code::invalid_argument, "a deployment needs at least one host");
    std::lock_guard lock(mu_);
    std::optional<Deployment> created;
    Status s = db_->transaction([&]() -> Status {
        if (auto img = get_image(image); !img) return img.status();
        Deployment d;
        d.image = image;
        d.transport = transport;
        d.created_at = now();
        auto rows = db_->write(
            "INSERT INTO deployments (image_id, transport, state, created_at)"
            " VALUES ($1, $2, 'running', $3) RETURNING id",
            Params().add(image).add(to_string(transport)).add(d.created_at));
        if (!rows) return rows.status();
        d.id = rows->i64(0, 0);
        for (HostId host : hosts) {
            if (auto h = get_host(host); !h) return h.status();
            auto t = db_->write(
                "INSERT INTO deployment_targets (deployment_id, host_id, state, transport)"
                " VALUES ($1, $2, 'pending', $3)",
                Params().add(d.id).add(host).add(to_string(transport)));
            if (!t)
                return t.status().code() == Code::conflict
                           ? Status::error(Code::invalid_argument,
                                           "host " + std::to_string(host) + " listed twice")
                           : t.status();
        }
        created = d;
        return Status::ok();
    });
    if (!s) return s;
    return *created;
}

Result<Deployment> PgStore::get_deployment(DeploymentId id) {
    std::lock_guard lock(mu_);
    auto rows = db_->query(
        "SELECT id, image_id, transport, state, created_at, finished_at"
        " FROM deployments WHERE id = $1",
        Params().add(id));
    if (!rows) return rows.status();
    if (rows->empty()) return not_found("deployment", id);
    return read_deployment(*rows, 0);
}

Result<std::vector<Deployment>> PgStore::list_deployments() {
    std::lock_guard lock(mu_);
    return read_all<Deployment>(db_->query("SELECT id, image_id, transport, state, created_at,"
                                           " finished_at FROM deployments ORDER BY id DESC"),
                                read_deployment);
}

Status PgStore::set_deployment_state(DeploymentId id, DeploymentState state) {
    std::lock_guard lock(mu_);
    std::optional<Timestamp> finished;
    if (state != DeploymentState::running) finished = now();
    auto rows = db_->write("UPDATE deployments SET state = $1, finished_at = $2 WHERE id = $3",
                           Params().add(to_string(state)).add(finished).add(id));
    if (!rows) return rows.status();
    if (rows->changed() == 0) return not_found("deployment", id);
    return Status::ok();
}

Result<std::vector<DeploymentTarget>> PgStore::list_targets(DeploymentId id) {
    std::lock_guard lock(mu_);
    return read_all<DeploymentTarget>(
        db_->query("SELECT deployment_id, host_id, state, transport, bytes_done, bytes_total,"
                   " started_at, finished_at, error FROM deployment_targets"
                   " WHERE deployment_id = $1 ORDER BY host_id",
                   Params().add(id)),
        [](const Rows& r, int i) {
            DeploymentTarget t;
            t.deployment = r.i64(i, 0);
            t.host = r.i64(i, 1);
            t.state = parse_target_state(r.text(i, 2)).value_or(TargetState::failed);
            t.transport = parse_transport(r.text(i, 3)).value_or(Transport::delta);
            t.bytes_done = std::uint64_t(r.i64(i, 4));
            t.bytes_total = std::uint64_t(r.i64(i, 5));
            t.started_at = r.opt_i64(i, 6);
            t.finished_at = r.opt_i64(i, 7);
            t.error = r.text(i, 8);
            return t;
        });
}

Status PgStore::update_target(const DeploymentTarget& t) {
    std::lock_guard lock(mu_);
    auto rows = db_->write(
        "UPDATE deployment_targets SET state = $1, transport = $2, bytes_done = $3,"
        " bytes_total = $4, started_at = $5, finished_at = $6, error = $7"
        " WHERE deployment_id = $8 AND host_id = $9",
        Params()
            .add(to_string(t.state))
            .add(to_string(t.transport))
            .add(std::int64_t(t.bytes_done))
            .add(std::int64_t(t.bytes_total))
            .add(t.started_at)
            .add(t.finished_at)
            .add(t.error)
            .add(t.deployment)
            .add(t.host));
    if (!rows) return rows.status();
    if (rows->changed() == 0)
        return Status::error(Code::not_found, "host " + std::to_string(t.host) +
                                                  " is not in deployment " +
                                                  std::to_string(t.deployment));
    return Status::ok();
}

}  // namespace provisioner
