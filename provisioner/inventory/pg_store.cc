// PgStore: hosts, transitions, the event log, and opening the store.
#include "pg_store.h"

#include <algorithm>
#include <string>

#include "pg_schema.h"

namespace provisioner {

using pg::Params;
using pg::Rows;

namespace {

#define HOST_COLUMNS "id, mac, name, ip, rack, state, facts_json, image_id, created_at, updated_at"

// Host filters: a NULL parameter leaves its condition out; the name glob is a regex here.
#define HOST_WHERE                                                                            \
    " WHERE ($1::text IS NULL OR state = $1::text) AND ($2::text IS NULL OR rack = $2::text)" \
    " AND ($3::text IS NULL OR name ~ $3::text) AND ($4::text IS NULL OR mac = $4::text)"     \
    " AND ($5::bigint IS NULL OR image_id = $5::bigint)"

Host read_host(const Rows& r, int i) {
    Host h;
    h.id = r.i64(i, 0);
    if (auto mac = Mac::parse(r.text(i, 1))) h.mac = *mac;
    h.name = r.text(i, 2);
    h.ip = r.text(i, 3);
    h.rack = r.text(i, 4);
    h.state = parse_host_state(r.text(i, 5)).value_or(HostState::failed);
    h.facts_json = r.text(i, 6);
    h.image = r.opt_i64(i, 7);
    h.created_at = r.i64(i, 8);
    h.updated_at = r.i64(i, 9);
    return h;
}

std::optional<std::string> opt_state(std::optional<HostState> s) {
    if (!s) return std::nullopt;
    return std::string(to_string(*s));
}

Params filter_params(const HostFilter& f) {
    Params p;
    p.add(opt_state(f.state)).add(f.rack);
    if (f.name_glob)
        p.add(pg::glob_to_regex(*f.name_glob));
    else
        p.add_null();
    if (f.mac)
        p.add(f.mac->str());
    else
        p.add_null();
    p.add(f.image);
    return p;
}

// The store whose transaction() the calling thread is in, if any.
thread_local const PgStore* tl_in_transaction = nullptr;

}  // namespace

Status PgStore::transaction(const std::function<Status()>& fn) {
    std::lock_guard lock(mu_);
    struct Mark {
        const PgStore* outer = tl_in_transaction;
        explicit Mark(const PgStore* store) { tl_in_transaction = store; }
        ~Mark() { tl_in_transaction = outer; }
    } mark(this);
    return db_->transaction(fn);
}

bool PgStore::in_transaction_on_this_thread() const {
    return tl_in_transaction == this;
}

PgStore::Readers::Readers(std::vector<std::unique_ptr<pg::Db>> dbs) : dbs_(std::move(dbs)) {
    for (std::size_t i = 0; i < dbs_.size(); ++i) {
        free_.push_back(i);
        pids_.push_back(dbs_[i]->backend_pid());
    }
}

PgStore::Readers::Lease PgStore::Readers::take() {
    std::unique_lock lock(mu_);
    freed_.wait(lock, [&] { return !free_.empty(); });
    const std::size_t index = free_.back();
    free_.pop_back();
    return Lease(*this, index);
}

PgStore::Readers::Lease::~Lease() {
    if (!readers_) return;
    const int pid = readers_->dbs_[index_]->backend_pid();  // it may have reconnected
    {
        std::lock_guard lock(readers_->mu_);
        readers_->pids_[index_] = pid;
        readers_->free_.push_back(index_);
    }
    readers_->freed_.notify_one();
}

std::vector<int> PgStore::Readers::backend_pids() {
    std::lock_guard lock(mu_);
    return pids_;
}

std::optional<std::uint64_t> PgStore::data_version() {
    if (in_transaction_on_this_thread()) return std::nullopt;
    Readers::Lease reader = readers_.take();
    auto n = reader->change_count();
    if (!n) return std::nullopt;
    return std::uint64_t(*n);
}

Result<Host> PgStore::one_host(const char* sql, const Params& params, const std::string& what) {
    std::lock_guard lock(mu_);
    auto rows = db_->query(sql, params);
    if (!rows) return rows.status();
    if (rows->empty()) return Status::error(Code::not_found, "no host " + what);
    return read_host(*rows, 0);
}

Result<Host> PgStore::get_host(HostId id) {
    return one_host("SELECT " HOST_COLUMNS " FROM hosts WHERE id = $1", Params().add(id),
                    "with id " + std::to_string(id));
}

Result<Host> PgStore::find_host(const Mac& mac) {
    return one_host("SELECT " HOST_COLUMNS " FROM hosts WHERE mac = $1", Params().add(mac.str()),
                    "with MAC " + mac.str());
}

Result<Host> PgStore::find_host_by_name(const std::string& name) {
    return one_host("SELECT " HOST_COLUMNS " FROM hosts WHERE name = $1", Params().add(name),
                    "named \"" + name + "\"");
}

Result<Host> PgStore::add_host(const HostSpec& spec, HostState initial, const std::string& reason) {
    if (initial != HostState::discovered && initial != HostState::enrolled)
        return Status::error(
            Code::invalid_argument,
            std::string("a new host starts discovered or enrolled, not ") + to_string(initial));
    if (Status s = validate_host_fields(spec.name, spec.ip, spec.rack); !s) return s;
    std::lock_guard lock(mu_);
    std::optional<Host> added;
    // One insert; only when a unique constraint refuses it (here, or because another server
    // added the host meanwhile) are the holders of the MAC and the name looked up, to say who.
    Status s = db_->transaction([&]() -> Status {
        const Timestamp t = now();
        auto rows = db_->write(
            "INSERT INTO hosts (mac, name, ip, rack, state, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            Params()
                .add(spec.mac.str())
                .add(spec.name)
                .add(spec.ip)
                .add(spec.rack)
                .add(to_string(initial))
                .add(t)
                .add(t));
        if (!rows) {
            if (rows.status().code() != Code::conflict) return rows.status();
            if (auto other = find_host(spec.mac))
                return Status::error(Code::conflict, "MAC " + spec.mac.str() +
                                                         " is already enrolled as " + other->name);
            if (auto other = find_host_by_name(spec.name))
                return Status::error(
                    Code::conflict,
                    "name \"" + spec.name + "\" is already used by " + other->mac.str());
            return rows.status();
        }
        Host h;
        h.id = rows->i64(0, 0);
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

Result<std::vector<Host>> PgStore::list_hosts(const HostFilter& f) {
    return read([&](pg::Db& db) -> Result<std::vector<Host>> {
        Params p = filter_params(f);
        if (f.limit)
            p.add(std::int64_t(f.limit));
        else
            p.add_null();
        p.add(std::int64_t(f.offset));
        auto rows = db.query("SELECT " HOST_COLUMNS " FROM hosts" HOST_WHERE
                             " ORDER BY name LIMIT $6::bigint OFFSET $7::bigint",
                             p);
        if (!rows) return rows.status();
        std::vector<Host> hosts;
        hosts.reserve(std::size_t(rows->size()));
        for (int i = 0; i < rows->size(); ++i) hosts.push_back(read_host(*rows, i));
        return hosts;
    });
}

Result<std::int64_t> PgStore::count_hosts(const HostFilter& f) {
    // All hosts: the count the triggers keep (schema migration 4), not a scan of every row.
    const bool all = !f.state && !f.rack && !f.name_glob && !f.mac && !f.image;
    return read([&](pg::Db& db) -> Result<std::int64_t> {
        auto rows = all ? db.query("SELECT n FROM host_count")
                        : db.query("SELECT count(*) FROM hosts" HOST_WHERE, filter_params(f));
        if (!rows) return rows.status();
        return rows->i64(0, 0);
    });
}

Status PgStore::update_host(const Host& h) {
    if (Status s = validate_host_fields(h.name, h.ip, h.rack); !s) return s;
    std::lock_guard lock(mu_);
    return db_->transaction([&]() -> Status {
        if (auto other = find_host_by_name(h.name); other && other->id != h.id)
            return Status::error(Code::conflict,
                                 "name \"" + h.name + "\" is already used by " + other->mac.str());
        auto rows = db_->write(
            "UPDATE hosts SET name = $1, ip = $2, rack = $3, facts_json = $4,"
            " image_id = $5, updated_at = $6 WHERE id = $7",
            Params()
                .add(h.name)
                .add(h.ip)
                .add(h.rack)
                .add(h.facts_json)
                .add(h.image)
                .add(now())
                .add(h.id));
        if (!rows) return rows.status();
        if (rows->changed() == 0)
            return Status::error(Code::not_found, "no host with id " + std::to_string(h.id));
        return Status::ok();
    });
}

Status PgStore::remove_host(HostId id) {
    std::lock_guard lock(mu_);
    auto rows = db_->write("DELETE FROM hosts WHERE id = $1", Params().add(id));
    if (!rows) return rows.status();
    if (rows->changed() == 0)
        return Status::error(Code::not_found, "no host with id " + std::to_string(id));
    return Status::ok();
}

Result<Event> PgStore::write_transition(const Host& host, HostState to, const std::string& reason) {
    std::lock_guard lock(mu_);
    const Timestamp t = now();
    // Compare-and-set on the state transition() read: another server may have moved it.
    auto rows =
        db_->write("UPDATE hosts SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4",
                   Params().add(to_string(to)).add(t).add(host.id).add(to_string(host.state)));
    if (!rows) return rows.status();
    if (rows->changed() == 0)
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

Result<Event> PgStore::insert_event(const Event& e) {
    auto rows = db_->write(
        "INSERT INTO events (time, host_id, mac, from_state, to_state, reason)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        Params()
            .add(e.time)
            .add(e.host)
            .add(e.mac)
            .add(opt_state(e.from))
            .add(opt_state(e.to))
            .add(e.reason));
    if (!rows) return rows.status();
    Event out = e;
    out.id = rows->i64(0, 0);
    return out;
}

Result<Event> PgStore::log_event(const Event& event) {
    std::lock_guard lock(mu_);
    Event e = event;
    e.time = now();
    return insert_event(e);
}

Result<std::vector<Event>> PgStore::list_events(const EventFilter& f) {
    std::lock_guard lock(mu_);
    Params p;
    p.add(f.host).add(f.after);
    if (f.limit)
        p.add(std::int64_t(f.limit));
    else
        p.add_null();
    auto rows = db_->query(
        "SELECT * FROM (SELECT id, time, host_id, mac, from_state, to_state, reason"
        " FROM events WHERE ($1::bigint IS NULL OR host_id = $1::bigint) AND id > $2::bigint"
        " ORDER BY id DESC LIMIT $3::bigint) newest ORDER BY id",
        p);
    if (!rows) return rows.status();
    std::vector<Event> events;
    for (int i = 0; i < rows->size(); ++i) {
        Event e;
        e.id = rows->i64(i, 0);
        e.time = rows->i64(i, 1);
        e.host = rows->opt_i64(i, 2);
        e.mac = rows->text(i, 3);
        if (!rows->is_null(i, 4)) e.from = parse_host_state(rows->text(i, 4));
        if (!rows->is_null(i, 5)) e.to = parse_host_state(rows->text(i, 5));
        e.reason = rows->text(i, 6);
        events.push_back(std::move(e));
    }
    return events;
}

Status PgStore::integrity_check() {
    // PostgreSQL enforces every constraint as it writes; what can still be wrong is a schema
    // another build left half-made, or a constraint added NOT VALID by hand.
    std::lock_guard lock(mu_);
    auto version = pg::schema_version(*db_);
    if (!version) return version.status();
    if (*version != pg::latest_schema_version())
        return Status::error(Code::storage, "inventory schema is at version " +
                                                std::to_string(*version) + ", this build's is " +
                                                std::to_string(pg::latest_schema_version()));
    auto rows = db_->query(
        "SELECT conrelid::regclass::text, conname FROM pg_constraint"
        " WHERE NOT convalidated AND connamespace = current_schema()::regnamespace");
    if (!rows) return rows.status();
    if (rows->empty()) return Status::ok();
    std::string problems;
    for (int i = 0; i < rows->size(); ++i)
        problems += rows->text(i, 0) + "." + rows->text(i, 1) + " not validated; ";
    return Status::error(Code::storage, "inventory integrity check failed: " + problems);
}

Result<bool> PgStore::other_sessions() {
    std::lock_guard lock(mu_);
    std::string ours = "{" + std::to_string(db_->backend_pid());
    for (int pid : readers_.backend_pids()) ours += "," + std::to_string(pid);
    ours += "}";
    auto rows = db_->query(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'provisionerd'"
        " AND datname = current_database() AND pid <> ALL($1::int[])",
        Params().add(ours));
    if (!rows) return rows.status();
    return rows->i64(0, 0) > 0;
}

Result<bool> another_server_connected(Store& store) {
    auto* pg = dynamic_cast<PgStore*>(&store);
    if (!pg) return false;
    return pg->other_sessions();
}

bool is_postgres_url(std::string_view database) {
    return database.starts_with("postgresql://") || database.starts_with("postgres://");
}

int current_postgres_schema_version() {
    return pg::latest_schema_version();
}

Result<std::unique_ptr<Store>> open_postgres_store(const std::string& url,
                                                   const PgOptions& options) {
    auto db = pg::Db::open(url);
    if (!db) return db.status().context("opening inventory");
    if (Status s = pg::migrate(**db); !s) return s.context("opening inventory");
    std::vector<std::unique_ptr<pg::Db>> readers;
    for (int i = 0; i < std::max(1, options.readers); ++i) {
        auto reader = pg::Db::open(url);
        if (!reader) return reader.status().context("opening inventory for reading");
        readers.push_back(std::move(*reader));
    }
    auto store = std::make_unique<PgStore>(std::move(*db), std::move(readers),
                                            options.clock ? *options.clock : base::real_clock());
    if (options.check_integrity) {
        if (Status s = store->integrity_check(); !s) return s;
    }
    return std::unique_ptr<Store>(std::move(store));
}

}  // namespace provisioner
