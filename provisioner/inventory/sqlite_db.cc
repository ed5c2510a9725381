#include "sqlite_db.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace provisioner::sqlite {

namespace {

// The inventory holds the secret behind every host and guest token: the file and its -wal and
// -shm are the owner's alone (0600). SQLite gives its -wal and -shm the database file's mode,
// so the file is made 0600 before SQLite first creates it; an older file is tightened.
Status make_private(const std::string& path) {
    if (path.empty() || path == ":memory:" || path.starts_with("file:")) return Status::ok();
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return Status::error(Code::storage,
                             "opening inventory " + path + ": " + std::strerror(errno));
    const bool ok = ::fchmod(fd, 0600) == 0;
    const int saved = errno;
    ::close(fd);
    if (!ok)
        return Status::error(Code::storage,
                             "chmod 0600 " + path + ": " + std::strerror(saved));
    for (const char* suffix : {"-wal", "-shm", "-journal"}) {
        const std::string side = path + suffix;
        if (::chmod(side.c_str(), 0600) != 0 && errno != ENOENT)
            return Status::error(Code::storage, "chmod 0600 " + side + ": " + std::strerror(errno));
    }
    return Status::ok();
}

}  // namespace

Query::Query(Query&& other) noexcept
    : db_(other.db_), stmt_(other.stmt_), next_(other.next_), bind_status_(other.bind_status_) {
    other.stmt_ = nullptr;
}

Query::~Query() {
    if (stmt_) {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
}

Query& Query::bind(std::int64_t value) {
    if (sqlite3_bind_int64(stmt_, next_++, value) != SQLITE_OK && bind_status_)
        bind_status_ = db_->error("bind");
    return *this;
}

Query& Query::bind(std::string_view text) {
    if (sqlite3_bind_text(stmt_, next_++, text.data(), int(text.size()), SQLITE_TRANSIENT) !=
            SQLITE_OK &&
        bind_status_)
        bind_status_ = db_->error("bind");
    return *this;
}

Query& Query::bind(const std::optional<std::int64_t>& value) {
    return value ? bind(*value) : bind_null();
}

Query& Query::bind(const std::optional<std::string>& text) {
    return text ? bind(std::string_view(*text)) : bind_null();
}

Query& Query::bind_null() {
    if (sqlite3_bind_null(stmt_, next_++) != SQLITE_OK && bind_status_)
        bind_status_ = db_->error("bind");
    return *this;
}

Result<bool> Query::step() {
    if (!bind_status_) return bind_status_;
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return db_->error("step");
}

Status Query::run() {
    for (;;) {
        auto row = step();
        if (!row) return row.status();
        if (!*row) return Status::ok();
    }
}

std::int64_t Query::i64(int col) const {
    return sqlite3_column_int64(stmt_, col);
}

std::string Query::text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, std::size_t(sqlite3_column_bytes(stmt_, col))) : std::string();
}

bool Query::is_null(int col) const {
    return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

std::optional<std::int64_t> Query::opt_i64(int col) const {
    if (is_null(col)) return std::nullopt;
    return i64(col);
}

Result<std::unique_ptr<Db>> Db::open(const std::string& path, int busy_timeout_ms,
                                     bool read_only) {
    if (!read_only) {
        if (Status s = make_private(path); !s) return s;
    }
    sqlite3* raw = nullptr;
    const int mode = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, mode | SQLITE_OPEN_NOMUTEX, nullptr);
    std::unique_ptr<Db> db(new Db(raw));  // the private constructor rules out make_unique
    if (rc != SQLITE_OK) {
        const std::string why = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
        return Status::error(Code::storage, "opening inventory " + path + ": " + why);
    }
    sqlite3_extended_result_codes(raw, 1);
    sqlite3_busy_timeout(raw, busy_timeout_ms);
    return db;
}

Db::~Db() {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
}

Status Db::exec(const char* sql) {
    char* msg = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) == SQLITE_OK) return Status::ok();
    Status s = error(msg ? msg : "exec");
    sqlite3_free(msg);
    return s;
}

Result<Query> Db::query(const char* sql) {
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) !=
            SQLITE_OK)
            return error(std::string("preparing \"") + sql + "\"");
        it = statements_.emplace(sql, stmt).first;
    }
    return Query(*this, it->second);
}

// Transaction control goes through cached statements too: a bulk import nests one savepoint
// per host, and re-parsing them each time costs more than the inserts.
Status Db::run_cached(const char* sql) {
    auto q = query(sql);
    if (!q) return q.status();
    return q->run();
}

Status Db::begin() {
    Status s = depth_ == 0 ? run_cached("BEGIN IMMEDIATE") : run_cached("SAVEPOINT nested");
    if (s) ++depth_;
    return s;
}

Status Db::end(bool commit) {
    --depth_;
    if (depth_ == 0) {
        if (commit) {
            Status s = run_cached("COMMIT");
            if (s) return s;
            run_cached("ROLLBACK");
            return s;
        }
        return run_cached("ROLLBACK");
    }
    if (!commit) {
        if (Status s = run_cached("ROLLBACK TO nested"); !s) return s;
    }
    return run_cached("RELEASE nested");
}

Status Db::transaction(const std::function<Status()>& fn) {
    if (Status s = begin(); !s) return s.context("beginning a transaction");
    Status result;
    try {
        result = fn();
    } catch (...) {
        end(false);
        throw;
    }
    Status ended = end(result.is_ok());
    if (result && !ended) return ended.context("committing");
    return result;
}

std::int64_t Db::last_insert_rowid() const {
    return sqlite3_last_insert_rowid(db_);
}

int Db::changes() const {
    return sqlite3_changes(db_);
}

Status Db::error(const std::string& what) const {
    const int rc = sqlite3_extended_errcode(db_);
    const Code code = (rc & 0xff) == SQLITE_CONSTRAINT ? Code::conflict : Code::storage;
    return Status::error(code, what + ": " + sqlite3_errmsg(db_));
}

}  // namespace provisioner::sqlite
