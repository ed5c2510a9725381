// provisionerd's own history of every host's and VM's metrics, for graphs in the CLI and the
// UI with nothing else installed (issue 16, Ganglia's round-robin archives). Each host has one
// file of fixed size (history_file.h) holding its own series and those of the VMs it reports,
// a column each, every report one row per archive: by default a 15 s archive for 24 h and a 5
// min archive for 30 days, every report averaged into both. Counters are kept as rates per
// second (history_series.h), derived here from consecutive reports.
//
// Why a file per host and not per entity: at 10,000 hosts of 20 VMs a file per entity was
// 210,000 files, each opened, written twice and closed every report; a host's file takes a
// report's 21 entities in one write per archive, and its descriptor stays open (at most
// max_open_files; provisionerd raises its RLIMIT_NOFILE soft limit to the hard one for them).
//
// Layout under dir:
//   by-host/ID.hist   a host's file: its columns and its VMs' (each column's first label is
//                     the member: key "", value "" for the host itself, the VM's name for a VM)
//   by-vm/NAME.hist   a VM recorded without a host (record() of a VM alone): its own file
//   vms.index         "VM<TAB>FILE" lines (names %-escaped): every file that has held a VM's
//                     columns, appended before they are added, so reads find a VM that moved
// A VM that moves keeps its rows in its old host's file (read together with the new one's);
// a file's columns of a VM that has left are dropped when the file is next widened and none of
// its retained rows has a value of that VM. The previous layout (hosts/ and vms/, a file per
// entity) is not migrated: its files are deleted at start and counted (Counts::discarded).
//
// record() only queues the report (a short lock, no I/O): one writer thread of its own derives
// the rates and writes the rows, so the Dom0 reports' path never waits on a disk. When more
// than max_queue reports wait, the oldest are dropped and counted. Reads (read()) open the
// files on the caller's thread; a row being written meanwhile may read half old.
// Bounds: at most kMaxHistoryColumns series per entity and kMaxHistoryFileColumns per file
// (more are dropped and counted); a file nobody wrote for longer than the longest archive
// keeps is deleted (sweep(), hourly). Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "history_file.h"
#include "history_index.h"
#include "history_query.h"
#include "history_series.h"
#include "series_shapes.h"

namespace provisioner::server {

struct HistoryOptions {
    std::filesystem::path dir;  // made if absent
    // Finest first; each a multiple of the one before, with a longer retention.
    std::vector<ArchiveSpec> archives = {{15, 24 * 60 * 4}, {300, 30 * 24 * 12}};
    std::size_t max_queue = 20000;  // reports waiting for the writer
    // Descriptors of files the writer keeps open (least recently written closed first). 0:
    // raise RLIMIT_NOFILE's soft limit to its hard limit and use three quarters of it.
    std::size_t max_open_files = 0;
    std::function<void(const std::string&)> log;  // a line for the server's log; may be empty
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

// One VM of a host's report.
struct VmSamples {
    std::string name;
    SampleSet samples;
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

    // Host host_id's report at unix_seconds: its own samples (none: empty) and its VMs'. Into
    // the host's file, one row per archive. Returns at once. Build samples with shapes()
    // (history_samples.h): the writer then maps a report of a shape it has seen before to the
    // file's columns by the shape's pointer alone.
    void record_report(const std::string& host_id, double unix_seconds, SampleSet host,
                       std::vector<VmSamples> vms);
    // One entity alone: a host into its file, a VM into a file of its own (by-vm/).
    void record(Entity entity, double unix_seconds, SampleSet samples);
    // The same, from samples that share nothing (each name is compared with the columns').
    void record(Entity entity, double unix_seconds, const std::vector<Sample>& samples);
    SeriesShapes& shapes() { return shapes_; }
    // Returns once every report queued before the call is written.
    void flush();

    // entity's points from since to now (Unix seconds), step as history_query.h says (0: auto).
    // not_found when nothing was ever recorded for it. A file that cannot be read is an error
    // naming it (for a VM, the other files that hold its rows are still read).
    Result<HistoryAnswer> read(const Entity& entity, std::int64_t since, std::int64_t now,
                               std::int64_t step) const;
    // Every entity of kind with a report since this server started.
    std::vector<LatestValues> latest(EntityKind kind) const;

    // Deletes entity's history (a host removed from the inventory: its id may be given again;
    // its file goes with the rows of the VMs it reported), after what is queued before it.
    // Returns at once.
    void forget(Entity entity);

    // Deletes the files nobody wrote for longer than the longest archive keeps; returns how
    // many. The writer runs it hourly; public for tests.
    std::size_t sweep();

    struct Counts {
        std::uint64_t recorded = 0;        // entities' reports written
        std::uint64_t dropped = 0;         // reports dropped from a full queue
        std::uint64_t series_dropped = 0;  // samples beyond the series bounds
        std::uint64_t errors = 0;          // entities' reports a file error lost
        std::uint64_t discarded = 0;       // files of the previous layout deleted at start
    };
    Counts counts() const;

    // The file that holds entity's newest rows (a VM's: its host's, once reported by one).
    std::filesystem::path file_of(const Entity& entity) const;
    // The column a file keeps for member's series (member "": the host itself).
    static Series file_column(const std::string& member, const Series& series);

  private:
    struct Item {
        std::string file;  // the file's key: "by-host/ID" or "by-vm/NAME" (escaped)
        double time = 0;
        std::vector<std::pair<Entity, SampleSet>> members;
        bool sweep = false;   // not a report: sweep() asks the writer to sweep
        bool forget = false;  // not a report: forget() asks the writer to delete entity's
        Entity entity;        // forget's
    };
    struct Pack;  // per file, the writer's own

    void run();
    void discard_old_layout();
    void write(Item& item);
    Pack* pack_of(const std::string& key);  // loaded or made, its descriptor open
    void touch(Pack& pack);                 // most recently used; closes the oldest beyond
    void publish();
    void publish_locked();  // mu_ held
    std::size_t sweep_files();
    void drop_pack(const std::string& key);
    std::uint64_t enqueue(Item item);
    void wait_for(std::uint64_t ticket);
    // Each of item's members' mapping in pack for its report's shape; the series pack lacks
    // appended to added (with their member; null: none are added, the rest are dropped).
    void map_members(Pack& pack, const Item& item,
                     std::vector<std::pair<std::string, Series>>* added);
    // pack's file made, or made again with added's columns (the rows kept, a VM's that left
    // and has no retained rows dropped).
    Status widen(Pack& pack, std::vector<std::pair<std::string, Series>> added, const Item& item);
    std::filesystem::path path_of(const std::string& key) const;
    std::shared_ptr<const std::vector<Series>> shared_columns(std::vector<Series> columns);

    const HistoryOptions options_;
    base::Clock& clock_;
    std::size_t max_open_ = 256;
    mutable std::mutex mu_;  // the queue, the counts and latest_
    std::condition_variable wake_, written_;
    std::deque<Item> queue_;
    bool stopping_ = false;
    std::uint64_t queued_ = 0, done_ = 0;  // items taken in, items written or dropped
    std::size_t last_swept_ = 0;
    Counts counts_;
    std::map<Entity, LatestValues> latest_;
    std::unique_ptr<HistoryIndex> index_;  // vms.index, by escaped VM names and file keys
    std::unordered_map<std::string, std::unique_ptr<Pack>> packs_;  // the writer's alone
    std::list<Pack*> open_;  // packs with a descriptor, most recently written first
    std::vector<double> values_;  // write()'s, kept for the next: the writer thread's alone
    struct Pending {
        const Entity* entity = nullptr;  // into the batch being written
        std::int64_t time = 0;
        std::shared_ptr<const std::vector<Series>> series;
        std::vector<float> values;
    };
    std::vector<Pending> pending_;
    std::size_t pending_used_ = 0;
    Counts pending_counts_;
    std::map<std::string, std::shared_ptr<const std::vector<Series>>> column_sets_;
    SeriesShapes shapes_;
    std::thread writer_;
};

}  // namespace provisioner::server
