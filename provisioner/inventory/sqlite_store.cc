#include "sqlite_store.h"

#include <chrono>
#include <string>

#include "sqlite_schema.h"

namespace provisioner {

using sqlite::Query;

namespace {

#define HOST_COLUMNS "id, mac, name, ip, rack, state, facts_json, image_id, created_at, updated_at"

Host read_host(const Query& q) {
    Host h;
    h.id = q.i64(0);
    if (auto mac = Mac::parse(q.text(1))) h.mac = *mac;
    h.name = q.text(2);
    h.ip = q.text(3);
    h.rack = q.text(4);
    h.state = parse_host_state(q.text(5)).value_or(HostState::failed);
    h.facts_json = q.text(6);
    h.image = q.opt_i64(7);
    h.created_at = q.i64(8);
    h.updated_at = q.i64(9);
    return h;
}

std::optional<std::string> opt_state(std::optional<HostState> s) {
    if (!s) return std::nullopt;
    return std::string(to_string(*s));
}

std::optional<std::string> opt_mac(const std::optional<Mac>& m) {
    if (!m) return std::nullopt;
    return m->str();
}

}  // namespace

namespace {

// The store whose transaction() the calling thread is in, if any: its reads stay on the
// writer's connection.
thread_local const SqliteStore* tl_in_transaction = nullptr;

}  // namespace

Status SqliteStore::transaction(const std::function<Status()>& fn) {
    std::lock_guard lock(mu_);
    struct Mark {
        const SqliteStore* outer = tl_in_transaction;
        explicit Mark(const SqliteStore* store) { tl_in_transaction = store; }
        ~Mark() { tl_in_transaction = outer; }
    } mark(this);
    return db_->transaction(fn);
}

bool SqliteStore::in_transaction_on_this_thread() const {
    return tl_in_transaction == this;
}

std::optional<std::uint64_t> SqliteStore::data_version() {
    if (!reader_ || in_transaction_on_this_thread()) return std::nullopt;
    std::lock_guard lock(reader_mu_);
    auto q = reader_->query("PRAGMA data_version");
    if (!q) return std::nullopt;
    auto row = q->step();
    if (!row || !*row) return std::nullopt;
    return std::uint64_t(q->i64(0));
}

Result<Host> SqliteStore::one_host(const char* sql, const std::function<void(Query&)>& bind,
                                   const std::string& what) {
    std::lock_guard lock(mu_);
    auto q = db_->query(sql);
    if (!q) return q.status();
    bind(*q);
    auto row = q->step();
    if (!row) return row.status();
    if (!*row) return Status::error(Code::not_found, "no host " + what);
    return read_host(*q);
}

Result<Host> SqliteStore::get_host(HostId id) {
    return one_host(
        "SELECT " HOST_COLUMNS " FROM hosts WHERE id = ?", [&](Query& q) { q.bind(id); },
        "with id " + std::to_string(id));
}

Result<Host> SqliteStore::find_host(const Mac& mac) {
    return one_host(
        "SELECT " HOST_COLUMNS " FROM hosts WHERE mac = ?", [&](Query& q) { q.bind(mac.str()); },
        "with MAC " + mac.str());
}

Result<Host> SqliteStore::find_host_by_name(const std::string& name) {
    return one_host(
        "SELECT " HOST_COLUMNS " FROM hosts WHERE name = ?", [&](Query& q) { q.bind(name); },
        "named \"" + name + "\"");
}

Result<Host> SqliteStore::add_host(const HostSpec& spec, HostState initial,
                                   const std::string& reason) {
    if (initial != HostState::discovered && initial != HostState::enrolled)
        return Status::error(
            Code::invalid_argument,
            std::string("a new host starts discovered or enrolled, not ") + to_string(initial));
    if (Status s = validate_host_fields(spec.name, spec.ip, spec.rack); !s) return s;
    std::lock_guard lock(mu_);
    std::optional<Host> added;
    Status s = db_->transaction([&]() -> Status {
        if (auto other = find_host(spec.mac))
            return Status::error(
                Code::conflict, "MAC " + spec.mac.str() + " is already enrolled as " + other->name);
        if (auto other = find_host_by_name(spec.name))
            return Status::error(Code::conflict, "name \"" + spec.name + "\" is already used by " +
                                                     other->mac.str());
        auto q = db_->query(
            "INSERT INTO hosts (mac, name, ip, rack, state, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)");
        if (!q) return q.status();
        const Timestamp t = now();
        if (Status r = q->bind(spec.mac.str())
                           .bind(spec.name)
                           .bind(spec.ip)
                           .bind(spec.rack)
                           .bind(to_string(initial))
                           .bind(t)
                           .bind(t)
                           .run();
            !r)
            return r;
        Host h;
        h.id = db_->last_insert_rowid();
        h.mac = spec.mac;
        h.name = spec.name;
        h.ip = spec.ip;
        h.rack = spec.rack;
        h.state = initial;
        h.created_at = h.updated_at = t;
        Event e;
        e.time = t;
        e.host = h.id;
        e.mac = h.mac.str();
        e.to = initial;
        e.reason = reason;
        if (auto ev = insert_event(e); !ev) return ev.status();
        added = h;
        return Status::ok();
    });
    if (!s) return s;
    return *added;
}

Result<std::vector<Host>> SqliteStore::list_hosts(const HostFilter& f) {
    return read([&](sqlite::Db& db) -> Result<std::vector<Host>> {
        auto q = db.query("SELECT " HOST_COLUMNS
                          " FROM hosts"
                          " WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR rack = ?2)"
                          " AND (?3 IS NULL OR name GLOB ?3) AND (?4 IS NULL OR mac = ?4)"
                          " AND (?5 IS NULL OR image_id = ?5)"
                          " ORDER BY name LIMIT ?6 OFFSET ?7");
        if (!q) return q.status();
        q->bind(opt_state(f.state))
            .bind(f.rack)
            .bind(f.name_glob)
            .bind(opt_mac(f.mac))
            .bind(f.image)
            .bind(f.limit ? std::int64_t(f.limit) : -1)
            .bind(std::int64_t(f.offset));
        std::vector<Host> hosts;
        for (;;) {
            auto row = q->step();
            if (!row) return row.status();
            if (!*row) return hosts;
            hosts.push_back(read_host(*q));
        }
    });
}

Result<std::int64_t> SqliteStore::count_hosts(const HostFilter& f) {
    return read([&](sqlite::Db& db) -> Result<std::int64_t> {
        if (!f.state && !f.rack && !f.name_glob && !f.mac && !f.image) {
            // Without a WHERE clause SQLite counts the entries of the smallest index, page by
            // page; the conditions below, even all NULL, make it evaluate every row (measured:
            // 18 us against 257 us for 10,000 hosts).
            auto q = db.query("SELECT count(*) FROM hosts");
            if (!q) return q.status();
            auto row = q->step();
            if (!row) return row.status();
            return q->i64(0);
        }
        auto q = db.query(
            "SELECT count(*) FROM hosts"
            " WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR rack = ?2)"
            " AND (?3 IS NULL OR name GLOB ?3) AND (?4 IS NULL OR mac = ?4)"
            " AND (?5 IS NULL OR image_id = ?5)");
        if (!q) return q.status();
        q->bind(opt_state(f.state))
            .bind(f.rack)
            .bind(f.name_glob)
            .bind(opt_mac(f.mac))
            .bind(f.image);
        auto row = q->step();
        if (!row) return row.status();
        return q->i64(0);
    });
}

Status SqliteStore::update_host(const Host& h) {
    if (Status s = validate_host_fields(h.name, h.ip, h.rack); !s) return s;
    std::lock_guard lock(mu_);
    return db_->transaction([&]() -> Status {
        if (auto other = find_host_by_name(h.name); other && other->id != h.id)
            return Status::error(Code::conflict,
                                 "name \"" + h.name + "\" is already used by " + other->mac.str());
        auto q = db_->query(
            "UPDATE hosts SET name = ?, ip = ?, rack = ?, facts_json = ?,"
            " image_id = ?, updated_at = ? WHERE id = ?");
        if (!q) return q.status();
        if (Status s = q->bind(h.name)
                           .bind(h.ip)
                           .bind(h.rack)
                           .bind(h.facts_json)
                           .bind(h.image)
                           .bind(now())
                           .bind(h.id)
                           .run();
            !s)
            return s;
        if (db_->changes() == 0)
            return Status::error(Code::not_found, "no host with id " + std::to_string(h.id));
        return Status::ok();
    });
}

Status SqliteStore::remove_host(HostId id) {
    std::lock_guard lock(mu_);
    auto q = db_->query("DELETE FROM hosts WHERE id = ?");
    if (!q) return q.status();
    if (Status s = q->bind(id).run(); !s) return s;
    if (db_->changes() == 0)
        return Status::error(Code::not_found, "no host with id " + std::to_string(id));
    return Status::ok();
}

Result<Event> SqliteStore::write_transition(const Host& host, HostState to,
                                            const std::string& reason) {
    std::lock_guard lock(mu_);
    const Timestamp t = now();
    // Compare-and-set on the state read by transition(): another connection may have moved it.
    auto q = db_->query("UPDATE hosts SET state = ?, updated_at = ? WHERE id = ? AND state = ?");
    if (!q) return q.status();
    if (Status s = q->bind(to_string(to)).bind(t).bind(host.id).bind(to_string(host.state)).run();
        !s)
        return s;
    if (db_->changes() == 0)
        return Status::error(Code::conflict, "host " + host.name + " changed state meanwhile");
    Event e;
    e.time = t;
    e.host = host.id;
    e.mac = host.mac.str();
    e.from = host.state;
    e.to = to;
    e.reason = reason;
    return insert_event(e);
}

Result<Event> SqliteStore::insert_event(const Event& e) {
    auto q = db_->query(
        "INSERT INTO events (time, host_id, mac, from_state, to_state, reason)"
        " VALUES (?, ?, ?, ?, ?, ?)");
    if (!q) return q.status();
    if (Status s = q->bind(e.time)
                       .bind(e.host)
                       .bind(e.mac)
                       .bind(opt_state(e.from))
                       .bind(opt_state(e.to))
                       .bind(e.reason)
                       .run();
        !s)
        return s;
    Event out = e;
    out.id = db_->last_insert_rowid();
    return out;
}

Result<Event> SqliteStore::log_event(const Event& event) {
    std::lock_guard lock(mu_);
    Event e = event;
    e.time = now();
    return insert_event(e);
}

Result<std::vector<Event>> SqliteStore::list_events(const EventFilter& f) {
    std::lock_guard lock(mu_);
    auto q = db_->query(
        "SELECT * FROM (SELECT id, time, host_id, mac, from_state, to_state, reason"
        " FROM events WHERE (?1 IS NULL OR host_id = ?1) AND id > ?2"
        " ORDER BY id DESC LIMIT ?3) ORDER BY id");
    if (!q) return q.status();
    q->bind(f.host).bind(f.after).bind(f.limit ? std::int64_t(f.limit) : -1);
    std::vector<Event> events;
    for (;;) {
        auto row = q->step();
        if (!row) return row.status();
        if (!*row) return events;
        Event e;
        e.id = q->i64(0);
        e.time = q->i64(1);
        e.host = q->opt_i64(2);
        e.mac = q->text(3);
        if (!q->is_null(4)) e.from = parse_host_state(q->text(4));
        if (!q->is_null(5)) e.to = parse_host_state(q->text(5));
        e.reason = q->text(6);
        events.push_back(std::move(e));
    }
}

Status SqliteStore::integrity_check() {
    std::lock_guard lock(mu_);
    auto q = db_->query("PRAGMA integrity_check");
    if (!q) return q.status();
    std::string problems;
    for (;;) {
        auto row = q->step();
        if (!row) return row.status();
        if (!*row) break;
        if (const std::string line = q->text(0); line != "ok") problems += line + "; ";
    }
    auto fk = db_->query("PRAGMA foreign_key_check");
    if (!fk) return fk.status();
    for (;;) {
        auto row = fk->step();
        if (!row) return row.status();
        if (!*row) break;
        problems +=
            "dangling reference in " + fk->text(0) + " row " + std::to_string(fk->i64(1)) + "; ";
    }
    if (problems.empty()) return Status::ok();
    return Status::error(Code::storage, "inventory integrity check failed: " + problems);
}

Timestamp timestamp_now(base::Clock& clock) {
    using namespace std::chrono;
    return duration_cast<milliseconds>(clock.wall_now().time_since_epoch()).count();
}

int current_schema_version() {
    return sqlite::latest_schema_version();
}

Result<std::unique_ptr<Store>> open_sqlite_store(const std::filesystem::path& path,
                                                 const SqliteOptions& options) {
    auto db = sqlite::Db::open(path.string(), options.busy_timeout_ms);
    if (!db) return db.status();
    // journal_mode returns a row; on ":memory:" it stays "memory", which is expected.
    // synchronous FULL: a committed enrolment survives a power cut, not only a kill -9.
    // cache_size: a bulk import of 10,000 hosts fits in the cache instead of spilling pages
    // to the WAL mid-transaction (at most 32 MiB, allocated as used); temp_store MEMORY keeps
    // the statement journals of its nested savepoints off the disk.
    for (const char* pragma :
         {"PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON",
          "PRAGMA cache_size = -32768", "PRAGMA temp_store = MEMORY"}) {
        if (Status s = (*db)->exec(pragma); !s) return s.context("opening inventory");
    }
    if (Status s = sqlite::migrate(**db, options.schema_version_limit); !s)
        return s.context("opening inventory");
    std::unique_ptr<sqlite::Db> reader;
    if (const std::string p = path.string(); p != ":memory:" && !p.starts_with("file:")) {
        auto opened = sqlite::Db::open(p, options.busy_timeout_ms, /*read_only=*/true);
        if (!opened) return opened.status().context("opening inventory for reading");
        if (Status s = (*opened)->exec("PRAGMA cache_size = -32768"); !s)
            return s.context("opening inventory for reading");
        reader = std::move(*opened);
    }
    auto store = std::make_unique<SqliteStore>(
        std::move(*db), options.clock ? *options.clock : base::real_clock(), std::move(reader));
    if (options.check_integrity) {
        if (Status s = store->integrity_check(); !s) return s;
    }
    return std::unique_ptr<Store>(std::move(store));
}

}  // namespace provisioner
