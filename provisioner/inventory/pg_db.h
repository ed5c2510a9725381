// A thin RAII layer over libpq for the inventory on PostgreSQL: one connection, statements
// prepared once per connection and keyed by their (constant) SQL text, nested transactions as
// savepoints, and a change counter bumped by every transaction that wrote (data_version()).
// SQL text is always a literal of this folder; values only ever go in as parameters.
// Not thread-safe: PgStore serialises calls.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "provisioner/status.h"

struct pg_conn;
struct pg_result;

namespace provisioner::pg {

// Parameters of one statement, in order ($1, $2, ...), as text; NULL when absent.
class Params {
  public:
    Params& add(std::int64_t value);
    Params& add(std::string_view text);
    Params& add(const std::string& text) { return add(std::string_view(text)); }
    Params& add(const char* text) { return add(std::string_view(text)); }
    Params& add(const std::optional<std::int64_t>& value);
    Params& add(const std::optional<std::string>& text);
    Params& add_null();

    int size() const { return int(values_.size()); }
    // Pointers into this object, for PQexecPrepared: valid while it lives unchanged.
    std::vector<const char*> pointers() const;

  private:
    std::vector<std::optional<std::string>> values_;
};

// The rows of one statement, or for a write the number of rows it changed.
class Rows {
  public:
    explicit Rows(pg_result* result);
    Rows(Rows&& other) noexcept;
    Rows(const Rows&) = delete;
    Rows& operator=(const Rows&) = delete;
    Rows& operator=(Rows&&) = delete;
    ~Rows();

    int size() const;
    bool empty() const { return size() == 0; }
    std::int64_t changed() const;  // rows inserted, updated or deleted
    std::int64_t i64(int row, int col) const;
    std::string text(int row, int col) const;
    bool is_null(int row, int col) const;
    std::optional<std::int64_t> opt_i64(int row, int col) const;

  private:
    pg_result* result_;
};

class Db {
  public:
    // Connects with a libpq connection string or URL (postgresql://...). storage on failure,
    // with libpq's message and the password, if any, left out.
    // application_name: what pg_stat_activity shows for this session (overrides the URL's).
    static Result<std::unique_ptr<Db>> open(const std::string& url,
                                            const char* application_name = "provisionerd");
    ~Db();
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;

    // Runs constant SQL (the schema, locks), several statements allowed; never user data.
    Status exec(const char* sql);
    // Runs sql, which must be a string literal (the statement cache keys on its address) with
    // params. Errors: conflict for a constraint (SQLSTATE class 23), storage otherwise.
    Result<Rows> query(const char* sql, const Params& params = {});
    // query() for a statement that changes rows: inside a savepoint when a transaction is open
    // (so that its failure leaves the transaction usable, as a failed statement does in
    // SQLite), in a transaction of its own otherwise (which bumps the change counter).
    Result<Rows> write(const char* sql, const Params& params = {});

    // Runs fn inside BEGIN ... COMMIT, or inside a savepoint when already in one; rolls back
    // when fn fails or throws (the exception propagates). A transaction that wrote bumps the
    // change counter (table provisioner_changes) just before its COMMIT, so that its lock is
    // the last one taken and held only across the commit.
    Status transaction(const std::function<Status()>& fn);
    bool in_transaction() const { return depth_ > 0; }

    // The change counter as committed: read it outside a transaction.
    Result<std::int64_t> change_count();
    // The server process serving this connection (pg_stat_activity.pid).
    int backend_pid() const;

  private:
    explicit Db(pg_conn* conn) : conn_(conn) {}
    Result<Rows> run(const char* sql, const Params& params);
    // sql's statement name, prepared on this connection the first time.
    Result<const std::string*> prepared(const char* sql);
    // SAVEPOINT, the statement and RELEASE in one round trip (libpq's pipeline mode): inside
    // a transaction a write costs one exchange with the server, not three.
    Result<Rows> write_in_savepoint(const char* sql, const Params& params);
    Status simple(const char* sql);
    Status reconnect_if_broken();

    pg_conn* conn_;
    int depth_ = 0;
    bool wrote_ = false;                                     // in the open transaction
    std::unordered_map<const char*, std::string> prepared_;  // SQL text -> statement name
};

// "name ~ $n" for a shell glob ('*', '?', '[...]', '[!...]'), anchored at both ends.
std::string glob_to_regex(std::string_view glob);

}  // namespace provisioner::pg
