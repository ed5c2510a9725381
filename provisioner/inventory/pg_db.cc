#include "pg_db.h"

#include <libpq-fe.h>

#include <charconv>

namespace provisioner::pg {

namespace {

// libpq's message as one line: its lines (a hint follows on a tabbed line) joined by spaces.
std::string trimmed(const char* message) {
    std::string m;
    for (const char* p = message ? message : ""; *p; ++p) {
        const bool space = *p == '\n' || *p == '\t';
        if (space && (m.empty() || m.back() == ' ')) continue;
        m += space ? ' ' : *p;
    }
    while (!m.empty() && m.back() == ' ') m.pop_back();
    return m;
}

// A failed result's Status: class 23 (integrity constraint violation) is the caller's
// conflict, as SQLite's SQLITE_CONSTRAINT is; everything else is the database's failure.
Status result_error(const PGresult* result, pg_conn* conn) {
    const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    const char* primary = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    std::string message = primary ? primary : trimmed(PQerrorMessage(conn));
    if (state && std::string_view(state).starts_with("23"))
        return Status::error(Code::conflict, message);
    return Status::error(Code::storage, "PostgreSQL: " + message);
}

}  // namespace

Params& Params::add(std::int64_t value) {
    values_.emplace_back(std::to_string(value));
    return *this;
}

Params& Params::add(std::string_view text) {
    values_.emplace_back(std::string(text));
    return *this;
}

Params& Params::add(const std::optional<std::int64_t>& value) {
    if (value) return add(*value);
    return add_null();
}

Params& Params::add(const std::optional<std::string>& text) {
    if (text) return add(std::string_view(*text));
    return add_null();
}

Params& Params::add_null() {
    values_.emplace_back(std::nullopt);
    return *this;
}

std::vector<const char*> Params::pointers() const {
    std::vector<const char*> out;
    out.reserve(values_.size());
    for (const auto& v : values_) out.push_back(v ? v->c_str() : nullptr);
    return out;
}

Rows::Rows(pg_result* result) : result_(result) {}

Rows::Rows(Rows&& other) noexcept : result_(other.result_) {
    other.result_ = nullptr;
}

Rows::~Rows() {
    if (result_) PQclear(result_);
}

int Rows::size() const {
    return PQntuples(result_);
}

std::int64_t Rows::changed() const {
    const char* n = PQcmdTuples(result_);
    std::int64_t value = 0;
    if (n && *n) std::from_chars(n, n + std::char_traits<char>::length(n), value);
    return value;
}

std::int64_t Rows::i64(int row, int col) const {
    const char* v = PQgetvalue(result_, row, col);
    std::int64_t value = 0;
    std::from_chars(v, v + PQgetlength(result_, row, col), value);
    return value;
}

std::string Rows::text(int row, int col) const {
    return std::string(PQgetvalue(result_, row, col), std::size_t(PQgetlength(result_, row, col)));
}

bool Rows::is_null(int row, int col) const {
    return PQgetisnull(result_, row, col) != 0;
}

std::optional<std::int64_t> Rows::opt_i64(int row, int col) const {
    if (is_null(row, col)) return std::nullopt;
    return i64(row, col);
}

Result<std::unique_ptr<Db>> Db::open(const std::string& url, const char* application_name) {
    // expand_dbname: the URL's settings apply, then the later keywords override them.
    const char* keys[] = {"dbname", "application_name", nullptr};
    const char* values[] = {url.c_str(), application_name, nullptr};
    pg_conn* conn = PQconnectdbParams(keys, values, 1);
    if (!conn) return Status::error(Code::storage, "PostgreSQL: out of memory connecting");
    if (PQstatus(conn) != CONNECTION_OK) {
        // libpq's message names the host and the reason, never the password.
        Status s = Status::error(Code::storage, "PostgreSQL: " + trimmed(PQerrorMessage(conn)));
        PQfinish(conn);
        return s;
    }
    std::unique_ptr<Db> db(new Db(conn));
    // Warnings such as "there is already a transaction in progress" are not ours to print.
    PQsetNoticeProcessor(
        conn, [](void*, const char*) {}, nullptr);
    if (Status s = db->exec("SET client_min_messages = warning"); !s) return s;
    return db;
}

Db::~Db() {
    PQfinish(conn_);
}

Status Db::reconnect_if_broken() {
    if (PQstatus(conn_) == CONNECTION_OK) return Status::ok();
    if (depth_ > 0)
        return Status::error(Code::storage, "PostgreSQL: connection lost inside a transaction");
    // The server restarted or the connection dropped: its prepared statements went with it.
    PQreset(conn_);
    prepared_.clear();
    if (PQstatus(conn_) != CONNECTION_OK)
        return Status::error(Code::storage, "PostgreSQL: " + trimmed(PQerrorMessage(conn_)));
    return exec("SET client_min_messages = warning");
}

Status Db::exec(const char* sql) {
    if (Status s = reconnect_if_broken(); !s) return s;
    PGresult* r = PQexec(conn_, sql);
    Rows rows(r);
    const auto st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return result_error(r, conn_);
    return Status::ok();
}

Status Db::simple(const char* sql) {
    PGresult* r = PQexec(conn_, sql);
    Rows rows(r);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) return result_error(r, conn_);
    return Status::ok();
}

Result<const std::string*> Db::prepared(const char* sql) {
    auto it = prepared_.find(sql);
    if (it == prepared_.end()) {
        std::string name = "p" + std::to_string(prepared_.size() + 1);
        PGresult* r = PQprepare(conn_, name.c_str(), sql, 0, nullptr);
        Rows rows(r);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) return result_error(r, conn_);
        it = prepared_.emplace(sql, std::move(name)).first;
    }
    return &it->second;
}

Result<Rows> Db::run(const char* sql, const Params& params) {
    if (Status s = reconnect_if_broken(); !s) return s;
    auto name = prepared(sql);
    if (!name) return name.status();
    const auto values = params.pointers();
    PGresult* r =
        PQexecPrepared(conn_, (*name)->c_str(), params.size(), values.data(), nullptr, nullptr, 0);
    Rows rows(r);
    const auto st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return result_error(r, conn_);
    return rows;
}

Result<Rows> Db::query(const char* sql, const Params& params) {
    auto rows = run(sql, params);
    // A read outside a transaction whose connection was found dead (the server restarted, or
    // ended the session) is asked again once on a new connection: it changed nothing.
    if (!rows && depth_ == 0 && PQstatus(conn_) != CONNECTION_OK) return run(sql, params);
    return rows;
}

Result<Rows> Db::write(const char* sql, const Params& params) {
    if (depth_ > 0) return write_in_savepoint(sql, params);
    std::optional<Rows> out;
    Status s = transaction([&]() -> Status {
        auto rows = run(sql, params);
        if (!rows) return rows.status();
        if (rows->changed() > 0) wrote_ = true;
        out.emplace(std::move(*rows));
        return Status::ok();
    });
    if (!s) return s;
    return std::move(*out);
}

Result<Rows> Db::write_in_savepoint(const char* sql, const Params& params) {
    if (Status s = reconnect_if_broken(); !s) return s;
    auto name = prepared(sql);
    if (!name) return name.status();
    const std::string savepoint = "w" + std::to_string(depth_);
    const std::string set = "SAVEPOINT " + savepoint;
    const std::string release = "RELEASE SAVEPOINT " + savepoint;
    const auto values = params.pointers();
    if (PQenterPipelineMode(conn_) != 1)
        return Status::error(Code::storage, "PostgreSQL: " + trimmed(PQerrorMessage(conn_)));
    const bool sent =
        PQsendQueryParams(conn_, set.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 1 &&
        PQsendQueryPrepared(conn_, (*name)->c_str(), params.size(), values.data(), nullptr, nullptr,
                            0) == 1 &&
        PQsendQueryParams(conn_, release.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 1 &&
        PQpipelineSync(conn_) == 1;
    if (!sent) {
        // The connection is gone; so is the transaction (the caller's COMMIT fails too).
        Status lost = Status::error(Code::storage, "PostgreSQL: " + trimmed(PQerrorMessage(conn_)));
        PQreset(conn_);
        prepared_.clear();
        return lost;
    }
    // Three commands' results, each ended by a null result, then the sync point. After a
    // failed command the server skips the rest (PGRES_PIPELINE_ABORTED) up to the sync.
    std::optional<Rows> out;
    Status failure;
    for (int command = 0; command < 3; ++command) {
        PGresult* r = PQgetResult(conn_);
        if (!r) {
            failure = Status::error(Code::storage, "PostgreSQL: " + trimmed(PQerrorMessage(conn_)));
            break;
        }
        Rows rows(r);
        const auto st = PQresultStatus(r);
        if (st == PGRES_FATAL_ERROR && failure.is_ok()) failure = result_error(r, conn_);
        if (command == 1 && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK))
            out.emplace(std::move(rows));
        while (PGresult* extra = PQgetResult(conn_)) PQclear(extra);
    }
    for (int i = 0; i < 4; ++i) {  // the sync point (a bounded wait: at most one result)
        PGresult* r = PQgetResult(conn_);
        if (!r) continue;
        const bool sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
        PQclear(r);
        if (sync) break;
    }
    PQexitPipelineMode(conn_);
    if (!failure.is_ok() || !out) {
        if (failure.is_ok())
            failure = Status::error(Code::storage, "PostgreSQL: no result for a write");
        (void)exec(("ROLLBACK TO SAVEPOINT " + savepoint).c_str());
        (void)exec(release.c_str());
        return failure;
    }
    if (out->changed() > 0) wrote_ = true;
    return std::move(*out);
}

Status Db::transaction(const std::function<Status()>& fn) {
    const int level = depth_;
    const std::string savepoint = "s" + std::to_string(level);
    if (level == 0) {
        if (Status s = reconnect_if_broken(); !s) return s;
        Status begun = simple("BEGIN");
        if (!begun && PQstatus(conn_) != CONNECTION_OK) {  // as query(): nothing was done
            if (Status s = reconnect_if_broken(); !s) return s;
            begun = simple("BEGIN");
        }
        if (!begun) return begun;
        wrote_ = false;
    } else {
        if (Status s = exec(("SAVEPOINT " + savepoint).c_str()); !s) return s;
    }
    ++depth_;
    auto roll_back = [&] {
        depth_ = level;
        if (level == 0) {
            (void)simple("ROLLBACK");
            wrote_ = false;
        } else {
            (void)exec(("ROLLBACK TO SAVEPOINT " + savepoint).c_str());
            (void)exec(("RELEASE SAVEPOINT " + savepoint).c_str());
        }
    };
    Status result;
    try {
        result = fn();
    } catch (...) {
        roll_back();
        throw;
    }
    if (!result) {
        roll_back();
        return result;
    }
    depth_ = level;
    if (level > 0) return exec(("RELEASE SAVEPOINT " + savepoint).c_str());
    if (wrote_) {
        if (Status s = simple("UPDATE provisioner_changes SET n = n + 1"); !s) {
            roll_back();
            return s;
        }
    }
    wrote_ = false;
    if (Status s = simple("COMMIT"); !s) {
        (void)simple("ROLLBACK");
        return s;
    }
    return Status::ok();
}

Result<std::int64_t> Db::change_count() {
    auto rows = query("SELECT n FROM provisioner_changes");
    if (!rows) return rows.status();
    if (rows->empty()) return Status::error(Code::storage, "provisioner_changes has no row");
    return rows->i64(0, 0);
}

int Db::backend_pid() const {
    return PQbackendPID(conn_);
}

std::string glob_to_regex(std::string_view glob) {
    std::string re = "^";
    for (std::size_t i = 0; i < glob.size(); ++i) {
        const char c = glob[i];
        if (c == '*') {
            re += ".*";
        } else if (c == '?') {
            re += '.';
        } else if (c == '[') {
            const std::size_t close = glob.find(']', i + 2);
            if (close == std::string_view::npos) {
                re += "\\[";
                continue;
            }
            re += '[';
            std::size_t j = i + 1;
            if (glob[j] == '!' || glob[j] == '^') {
                re += '^';
                ++j;
            }
            for (; j < close; ++j) {
                if (glob[j] == '\\') re += '\\';
                re += glob[j];
            }
            re += ']';
            i = close;
        } else {
            if (std::string_view("\\.+()|{}^$[]").find(c) != std::string_view::npos) re += '\\';
            re += c;
        }
    }
    return re + "$";
}

}  // namespace provisioner::pg
