// A thin RAII layer over the SQLite C API for the inventory: one connection, a cache of
// prepared statements keyed by their (constant) SQL text, nested transactions as savepoints.
// SQL text is always a literal of this folder; values only ever go in through bind().
// Not thread-safe: SqliteStore serialises calls.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "provisioner/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace provisioner::sqlite {

class Db;

// A prepared statement borrowed from Db's cache; reset and unbound when it goes out of scope.
// Parameters bind in order (?1, ?2, ...), each bind() taking the next.
class Query {
  public:
    Query(Db& db, sqlite3_stmt* stmt) : db_(&db), stmt_(stmt) {}
    Query(Query&& other) noexcept;
    Query(const Query&) = delete;
    Query& operator=(const Query&) = delete;
    Query& operator=(Query&&) = delete;
    ~Query();

    Query& bind(std::int64_t value);
    Query& bind(std::string_view text);
    Query& bind(const std::string& text) { return bind(std::string_view(text)); }
    Query& bind(const char* text) { return bind(std::string_view(text)); }
    Query& bind(const std::optional<std::int64_t>& value);  // NULL when absent
    Query& bind(const std::optional<std::string>& text);    // NULL when absent
    Query& bind_null();

    // true: a row is ready; false: done. storage/conflict errors carry SQLite's message.
    Result<bool> step();
    // Runs to completion, for statements without rows.
    Status run();

    std::int64_t i64(int col) const;
    std::string text(int col) const;
    bool is_null(int col) const;
    std::optional<std::int64_t> opt_i64(int col) const;

  private:
    Db* db_;
    sqlite3_stmt* stmt_;
    int next_ = 1;
    Status bind_status_;
};

class Db {
  public:
    // Opens (creating) path; ":memory:" is a private in-memory database. read_only: a second
    // connection to an existing file, for reads (SQLite refuses its writes).
    static Result<std::unique_ptr<Db>> open(const std::string& path, int busy_timeout_ms,
                                            bool read_only = false);
    ~Db();
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;

    // Runs constant SQL (pragmas, schema); never user data.
    Status exec(const char* sql);
    // A cached prepared statement for sql, which must be a string literal (the cache keys on
    // its address).
    Result<Query> query(const char* sql);

    // Runs fn inside BEGIN IMMEDIATE ... COMMIT, or inside a savepoint when already in one;
    // rolls back when fn fails or throws (the exception propagates).
    Status transaction(const std::function<Status()>& fn);

    std::int64_t last_insert_rowid() const;
    int changes() const;
    // Maps the connection's last error to a Status (constraint -> conflict, else storage).
    Status error(const std::string& what) const;
    sqlite3* handle() { return db_; }

  private:
    explicit Db(sqlite3* db) : db_(db) {}
    Status run_cached(const char* sql);
    Status begin();
    Status end(bool commit);

    sqlite3* db_;
    int depth_ = 0;
    std::unordered_map<const char*, sqlite3_stmt*> statements_;
};

}  // namespace provisioner::sqlite
