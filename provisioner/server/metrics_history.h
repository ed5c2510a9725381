// provisionerd's own history of every host's and VM's metrics, for graphs in the CLI and the
// UI with nothing else installed (issue 16, Ganglia's round-robin archives). Each entity has one
// file of fixed size under the history directory (history_file.h): by default a 15 s archive for
// 24 h and a 5 min archive for 30 days, every report averaged into both. Counters are kept as
// rates per second (history_series.h), derived here from consecutive reports.
//
// record() only queues the report (a short lock, no I/O): one writer thread of its own derives
// the rates and writes the rows, so the Dom0 reports' path never waits on a disk. When more
// than max_queue reports wait, the oldest are dropped and counted. Reads (read()) open the
// entity's file on the caller's thread; a row being written meanwhile may read half old.
// Bounds: at most kMaxHistoryColumns series per entity (more are dropped and counted); a file
// nobody wrote for longer than the longest archive keeps is deleted (sweep(), hourly).
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "history_file.h"
#include "history_query.h"
#include "history_series.h"
#include "series_shapes.h"

namespace provisioner::server {

struct HistoryOptions {
    std::filesystem::path dir;  // made if absent; hosts/ and vms/ below it
    // Finest first; each a multiple of the one before, with a longer retention.
    std::vector<ArchiveSpec> archives = {{15, 24 * 60 * 4}, {300, 30 * 24 * 12}};
    std::size_t max_queue = 20000;  // reports waiting for the writer
};

// "15s:24h,5m:30d" (step:retention, finest first; retention a multiple of the step); the
// message says what is wrong.
Result<std::vector<ArchiveSpec>> parse_archives(std::string_view text);
std::string archives_text(const std::vector<ArchiveSpec>& archives);

// An entity's values from its latest report, after rates (NaN where none yet).
struct LatestValues {
    Entity entity;
    std::int64_t time = 0;  // Unix seconds
    std::shared_ptr<const std::vector<Series>> series;
    std::vector<float> values;
};

class MetricsHistory {
  public:
    // Starts the writer. clock: for the hourly sweep only (report times are given to record).
    MetricsHistory(HistoryOptions options, base::Clock& clock);
    // Writes what is queued, then stops the writer.
    ~MetricsHistory();
    MetricsHistory(const MetricsHistory&) = delete;
    MetricsHistory& operator=(const MetricsHistory&) = delete;

    const HistoryOptions& options() const { return options_; }

    // entity reported samples at unix_seconds. Returns at once. Build samples with shapes()
    // (history_samples.h): the writer then maps a report of a shape it has seen before to the
    // entity's columns by the shape's pointer alone.
    void record(Entity entity, double unix_seconds, SampleSet samples);
    // The same, from samples that share nothing (each name is compared with the columns').
    void record(Entity entity, double unix_seconds, const std::vector<Sample>& samples);
    SeriesShapes& shapes() { return shapes_; }
    // Returns once every report queued before the call is written.
    void flush();

    // entity's points from since to now (Unix seconds), step as history_query.h says (0: auto).
    // not_found when nothing was ever recorded for it.
    Result<HistoryAnswer> read(const Entity& entity, std::int64_t since, std::int64_t now,
                               std::int64_t step) const;
    // Every entity of kind with a report since this server started.
    std::vector<LatestValues> latest(EntityKind kind) const;

    // Deletes entity's history (a host removed from the inventory: its id may be given again),
    // after what is queued before it. Returns at once.
    void forget(Entity entity);

    // Deletes the files of entities silent for longer than the longest archive keeps; returns
    // how many. The writer runs it hourly; public for tests.
    std::size_t sweep();

    struct Counts {
        std::uint64_t recorded = 0;        // reports written
        std::uint64_t dropped = 0;         // reports dropped from a full queue
        std::uint64_t series_dropped = 0;  // samples beyond the series bound
        std::uint64_t errors = 0;          // reports a file error lost
    };
    Counts counts() const;

    std::filesystem::path file_of(const Entity& entity) const;

  private:
    struct Item {
        Entity entity;
        double time = 0;
        SampleSet samples;
        bool sweep = false;   // not a report: sweep() asks the writer to sweep
        bool forget = false;  // not a report: forget() asks the writer to delete entity's
    };
    struct State;  // per entity, the writer's own

    void run();
    void write(Item& item);
    // Hands what write() left in pending_ to counts_ and latest_: the writer takes the lock
    // once a batch, not once a report (the workers queue reports under the same lock).
    void publish();
    void publish_locked();  // mu_ held
    std::size_t sweep_files();
    void drop(const Entity& entity);
    std::uint64_t enqueue(Item item);
    void wait_for(std::uint64_t ticket);
    // The entity's columns become columns (the old ones first, in their order).
    Status widen(State& state, const Entity& entity,
                 std::shared_ptr<const std::vector<Series>> columns);
    // Each of item's samples' column in state (-1: dropped), widening the file for new series.
    Status map_columns(State& state, const Item& item);
    void note_opened(const Entity& entity);  // a descriptor of entity's file was opened
    // One shared copy of each distinct set of columns: at 10,000 hosts of 20 VMs, 210,000
    // entities share a few dozen sets (a copy each was most of the server's memory).
    std::shared_ptr<const std::vector<Series>> shared_columns(std::vector<Series> columns);

    const HistoryOptions options_;
    base::Clock& clock_;
    mutable std::mutex mu_;  // the queue, the counts and latest_
    std::condition_variable wake_, written_;
    std::deque<Item> queue_;
    bool stopping_ = false;
    std::uint64_t queued_ = 0, done_ = 0;  // items taken in, items written or dropped
    std::size_t last_swept_ = 0;
    Counts counts_;
    std::map<Entity, LatestValues> latest_;
    struct EntityHash {
        std::size_t operator()(const Entity& e) const {
            return std::hash<std::string>()(e.name) ^ std::size_t(e.kind);
        }
    };
    std::unordered_map<Entity, std::unique_ptr<State>, EntityHash> states_;  // the writer's alone
    std::vector<double> values_;  // write()'s, kept for the next: the writer thread's alone
    // What write() did since the last publish(): the writer thread's alone. entity points
    // into the batch being written.
    struct Pending {
        const Entity* entity = nullptr;
        std::int64_t time = 0;
        std::shared_ptr<const std::vector<Series>> series;
        std::vector<float> values;
    };
    std::vector<Pending> pending_;
    std::size_t pending_used_ = 0;
    Counts pending_counts_;
    std::size_t open_files_ = 0;                       // the writer thread's alone
    // The entities whose descriptors were opened since the last closing of them all, so the
    // closing visits those (a few hundred), not every entity: the writer thread's alone.
    std::vector<Entity> opened_;
    // shared_columns(), by the columns' names and kinds: the writer thread's alone.
    std::map<std::string, std::shared_ptr<const std::vector<Series>>> column_sets_;
    SeriesShapes shapes_;
    std::thread writer_;
};

}  // namespace provisioner::server
