#include "store_sites.h"

#include <pwd.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <vector>

#include "../../provisioner/inventory/pg_db.h"
#include "base/process.h"
#include "provisioner/pg_store.h"
#include "test_util.h"

namespace testutil {

namespace fs = std::filesystem;
using namespace provisioner;

namespace {

// Wall time that moves 1 s at every reading, from 1,000,000 ms: each event, enrolment and
// state change gets its own time, the same in every run.
class SteppingClock final : public base::Clock {
  public:
    time_point now() override { return time_point(step()); }
    wall_time_point wall_now() override { return wall_time_point(step()); }
    void sleep_for(std::chrono::milliseconds d) override { millis_ += d.count(); }

  private:
    std::chrono::milliseconds step() { return std::chrono::milliseconds(millis_ += 1000); }
    std::atomic<std::int64_t> millis_{1'000'000};
};

// A site's own stepping clocks, one per store it opens, kept as long as the site.
class Clocks {
  public:
    base::Clock& choose(base::Clock* given) {
        if (given) return *given;
        std::lock_guard lock(mu_);
        return *owned_.emplace_back(std::make_unique<SteppingClock>());
    }

  private:
    std::mutex mu_;
    std::vector<std::unique_ptr<SteppingClock>> owned_;
};

// The directory of Debian's initdb and pg_ctl (the newest version's), or empty.
fs::path postgres_bin() {
    std::error_code ec;
    fs::path best;
    for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
        const fs::path bin = entry.path() / "bin";
        if (fs::exists(bin / "initdb") && fs::exists(bin / "pg_ctl") && bin > best) best = bin;
    }
    return best;
}

// One cluster for the whole test binary: initdb and a start cost about 2 s; each site is a
// schema of its own in it, which costs milliseconds.
class Cluster {
  public:
    static Cluster& get() {
        static Cluster cluster;
        return cluster;
    }
    ~Cluster() {
        if (!started_) return;
        (void)base::run_process(as_owner({(bin_ / "pg_ctl").string(), "stop", "-D",
                                          (dir_ / "data").string(), "-m", "immediate", "-s"}),
                                options());
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    // A URL whose search_path is a fresh schema.
    std::string fresh_url() {
        start();
        const std::string schema = "t" + std::to_string(++schemas_);
        auto db = pg::Db::open(url(""));
        REQUIRE_MESSAGE(db.is_ok(), db.status().message());
        REQUIRE((*db)->exec(("CREATE SCHEMA " + schema).c_str()));
        return url(schema);
    }

  private:
    std::string url(const std::string& schema) const {
        std::string u = "postgresql:///postgres?host=" + dir_.string() + "&user=postgres";
        if (!schema.empty()) u += "&options=-csearch_path%3D" + schema;
        return u;
    }
    // initdb refuses to run as root: as root, the cluster belongs to postgres (Debian's
    // package creates it) or else nobody.
    std::vector<std::string> as_owner(std::vector<std::string> argv) const {
        if (owner_.empty()) return argv;
        argv.insert(argv.begin(), {"runuser", "-u", owner_, "--"});
        return argv;
    }
    static base::RunOptions options() {
        base::RunOptions o;
        o.timeout = std::chrono::seconds(60);
        return o;
    }
    void start() {
        std::lock_guard lock(mu_);
        if (started_) return;
        bin_ = postgres_bin();
        REQUIRE_MESSAGE(!bin_.empty(), "no initdb under /usr/lib/postgresql/*/bin: "
                                        "scripts/setup installs postgresql");
        std::string tmpl = (fs::temp_directory_path() / "provisioner-pg-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        dir_ = tmpl;
        if (::geteuid() == 0) {
            owner_ = ::getpwnam("postgres") ? "postgres" : "nobody";
            const passwd* pw = ::getpwnam(owner_.c_str());
            REQUIRE(pw != nullptr);
            REQUIRE(::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) == 0);
        }
        const std::string data = (dir_ / "data").string();
        auto init = base::run_process(
            as_owner({(bin_ / "initdb").string(), "-D", data, "-U", "postgres", "--auth=trust",
                      "--no-sync", "--encoding=UTF8", "--locale=C.UTF-8"}),
            options());
        REQUIRE_MESSAGE(init.is_ok(), init.status().message());
        REQUIRE_MESSAGE(init->exit_code == 0, init->err);
        // Unix socket only, in the directory; no fsync: a test cluster need not survive a
        // power cut, and it makes each commit microseconds.
        const std::string settings = "-c listen_addresses='' -k " + dir_.string() +
                                     " -c fsync=off -c synchronous_commit=off"
                                     " -c full_page_writes=off -c max_connections=100";
        auto run =
            base::run_process(as_owner({(bin_ / "pg_ctl").string(), "start", "-D", data, "-w", "-s",
                                        "-l", (dir_ / "log").string(), "-o", settings}),
                              options());
        REQUIRE_MESSAGE(run.is_ok(), run.status().message());
        REQUIRE_MESSAGE(run->exit_code == 0, std::string(run->err + run->out));
        started_ = true;
    }

    std::mutex mu_;
    bool started_ = false;
    fs::path bin_;
    fs::path dir_;
    std::string owner_;
    std::atomic<int> schemas_{0};
};

class SqliteSite final : public StoreSite {
  public:
    std::unique_ptr<Store> open(base::Clock* clock) override {
        SqliteOptions options;
        options.clock = &clocks_.choose(clock);
        auto store = open_sqlite_store(path(), options);
        REQUIRE_MESSAGE(store.is_ok(), store.status().message());
        return std::move(*store);
    }
    Result<std::unique_ptr<Store>> try_open() override { return open_sqlite_store(path()); }
    const char* backend() const override { return "sqlite"; }

  private:
    fs::path path() const { return dir_ / "inventory.db"; }
    TempDir dir_;
    Clocks clocks_;
};

class PostgresSite final : public StoreSite {
  public:
    PostgresSite() : url_(Cluster::get().fresh_url()) {}
    std::unique_ptr<Store> open(base::Clock* clock) override {
        PgOptions options;
        options.clock = &clocks_.choose(clock);
        auto store = open_postgres_store(url_, options);
        REQUIRE_MESSAGE(store.is_ok(), store.status().message());
        return std::move(*store);
    }
    Result<std::unique_ptr<Store>> try_open() override { return open_postgres_store(url_); }
    const char* backend() const override { return "postgresql"; }
    const std::string& url() const { return url_; }

  private:
    std::string url_;
    Clocks clocks_;
};

}  // namespace

std::unique_ptr<StoreSite> sqlite_site() {
    return std::make_unique<SqliteSite>();
}

std::unique_ptr<StoreSite> postgres_site() {
    return std::make_unique<PostgresSite>();
}

void postgres_exec(StoreSite& site, const std::string& sql) {
    auto* pg_site = dynamic_cast<PostgresSite*>(&site);
    REQUIRE(pg_site != nullptr);
    auto db = pg::Db::open(pg_site->url(), "unit_tests");  // not one of the stores' sessions
    REQUIRE_MESSAGE(db.is_ok(), db.status().message());
    Status s = (*db)->exec(sql.c_str());
    REQUIRE_MESSAGE(s.is_ok(), s.message());
}

}  // namespace testutil
