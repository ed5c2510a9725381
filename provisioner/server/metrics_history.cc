#include "metrics_history.h"

#include "history_layout.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace provisioner::server {

namespace fs = std::filesystem;
using namespace history_layout;

namespace {

constexpr auto kSweepEvery = std::chrono::hours(1);
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
bool fits(const Series& s) {
    if (s.metric.empty() || s.metric.size() > kMaxHistoryName ||
        s.labels.size() > kMaxHistoryLabels)
        return false;
    for (const auto& [k, v] : s.labels)
        if (k.size() > kMaxHistoryName || v.size() > kMaxHistoryName) return false;
    return true;
}

bool valid(const SampleSet& samples) {
    return !samples.values.empty() && samples.series &&
           samples.series->size() == samples.values.size();
}

std::size_t open_file_budget(std::size_t asked) {
    if (asked) return asked;
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 256;
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = std::min<rlim_t>(limit.rlim_max, rlim_t(1) << 20);
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    return std::max<std::size_t>(16, std::size_t(limit.rlim_cur) / 4 * 3);
}

}  // namespace

// A file's columns are blocks of one member's series each (a member's series added later are
// a block of their own, at the end): the names are shared among files (every VM of a shape has
// the same), so a file's columns cost a few pointers, not a copy of its names.
struct MetricsHistory::Pack {
    struct Block {
        std::string member;
        std::shared_ptr<const std::vector<Series>> series;
        std::size_t first = 0;  // its first column
    };
    // Where a member's report of one shape goes: sample i to column[i] (-1: dropped).
    struct Mapping {
        std::shared_ptr<const std::vector<Series>> shape;
        std::uint64_t generation = 0;
        std::vector<int> column;
        std::size_t dropped = 0;
    };
    std::string key;
    std::unique_ptr<HistoryFile> file;  // its descriptor open while in open_
    std::vector<Block> blocks;
    std::size_t width = 0;        // columns
    std::uint64_t generation = 1;  // the columns' version: mappings made before are stale
    std::unordered_map<std::string, Mapping> mappings;  // by member ("": the host)
    std::vector<double> last_raw;   // per column: a counter's last value (NaN: none)
    std::vector<double> last_time;  // and when it was reported
    double written = 0;             // the last report's time
    // Per archive, the row being filled (its bucket, 0 until this server wrote one; the row
    // as last written, so a report needs no read) and how many values each column's average
    // holds (a counter has none at its first report): so each column is its own mean.
    std::vector<std::int64_t> filling;
    std::vector<HistoryRow> rows;
    std::vector<std::vector<std::uint32_t>> counts;
    bool fresh = false;  // the file was just made: every row is empty, none need be read
    bool in_open = false;
    std::list<Pack*>::iterator open_at;

    void reset() {
        file.reset();
        blocks.clear();
        width = 0;
        ++generation;
        mappings.clear();
        last_raw.clear();
        last_time.clear();
        filling.clear();
        fresh = false;
    }
    std::vector<Series> all_columns() const {
        std::vector<Series> out;
        out.reserve(width);
        for (const Block& b : blocks)
            for (const Series& s : *b.series) out.push_back(file_column(b.member, s));
        return out;
    }
};

Series MetricsHistory::file_column(const std::string& member, const Series& series) {
    return member_column(member, series);
}
Result<std::vector<ArchiveSpec>> parse_archives(std::string_view text) {
    std::vector<ArchiveSpec> out;
    const std::string all(text);
    auto bad = [&](const std::string& why) {
        return Status::error(Code::invalid_argument,
                             "history archives '" + all + "': " + why +
                                 " (want STEP:RETENTION,... finest first, as 15s:24h,5m:30d)");
    };
    while (!text.empty()) {
        const auto comma = text.find(',');
        const std::string_view part = text.substr(0, comma);
        text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
        const auto colon = part.find(':');
        if (colon == std::string_view::npos) return bad("'" + std::string(part) + "' has no ':'");
        auto step = parse_duration(part.substr(0, colon));
        auto keep = parse_duration(part.substr(colon + 1));
        if (!step) return bad(step.status().message());
        if (!keep) return bad(keep.status().message());
        if (*keep % *step || *keep / *step > 1'000'000 || *step > UINT32_MAX)
            return bad("a retention must be a multiple of its step, at most 1,000,000 steps");
        ArchiveSpec a{std::uint32_t(*step), std::uint32_t(*keep / *step)};
        if (!out.empty() && (a.step_seconds % out.back().step_seconds ||
                             a.step_seconds == out.back().step_seconds ||
                             a.retention_seconds() <= out.back().retention_seconds()))
            return bad(
                "each archive's step must be a multiple of the one before, with a "
                "longer retention");
        out.push_back(a);
    }
    if (out.empty() || out.size() > kMaxHistoryArchives) return bad("1 to 8 archives");
    return out;
}

std::string archives_text(const std::vector<ArchiveSpec>& archives) {
    auto duration = [](std::int64_t s) {
        if (s % 86400 == 0) return std::to_string(s / 86400) + "d";
        if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
        if (s % 60 == 0) return std::to_string(s / 60) + "m";
        return std::to_string(s) + "s";
    };
    std::string out;
    for (const ArchiveSpec& a : archives) {
        if (!out.empty()) out += ",";
        out += duration(a.step_seconds) + ":" + duration(a.retention_seconds());
    }
    return out;
}

MetricsHistory::MetricsHistory(HistoryOptions options, base::Clock& clock)
    : options_(std::move(options)), clock_(clock) {
    max_open_ = open_file_budget(options_.max_open_files);
    std::error_code ec;  // a directory that cannot be made shows as write errors
    fs::create_directories(options_.dir / kHostFiles, ec);
    fs::create_directories(options_.dir / kVmFiles, ec);
    index_ = std::make_unique<HistoryIndex>(
        options_.dir / kIndex, [this](const std::string& file) {
            std::error_code ec;
            return fs::exists(path_of(file), ec);
        });
    writer_ = std::thread([this] { run(); });
}

MetricsHistory::~MetricsHistory() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
    }
    wake_.notify_all();
    writer_.join();
}

fs::path MetricsHistory::path_of(const std::string& key) const {
    return options_.dir / (key + ".hist");
}

fs::path MetricsHistory::file_of(const Entity& entity) const {
    if (entity.kind == EntityKind::host) return path_of(host_key(entity.name));
    const auto files = index_->files_of(escape(entity.name));
    return path_of(files.empty() ? vm_key(entity.name) : files.back());
}

void MetricsHistory::discard_old_layout() {
    std::uint64_t removed = 0;
    for (const char* old : {"hosts", "vms"}) {
        const fs::path dir = options_.dir / old;
        std::error_code ec;
        if (!fs::is_directory(dir, ec)) continue;
        const auto n = fs::remove_all(dir, ec);
        if (n != static_cast<std::uintmax_t>(-1)) removed += n;
    }
    if (removed == 0) return;
    if (options_.log)
        options_.log("metrics history: deleted " + std::to_string(removed) +
                     " files of the previous layout (a file per host and per VM under " +
                     options_.dir.string() + "/hosts and /vms); it is not migrated");
    std::lock_guard<std::mutex> lock(mu_);
    counts_.discarded += removed;
}

std::uint64_t MetricsHistory::enqueue(Item item) {
    std::uint64_t ticket;
    bool was_empty;
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (queue_.size() >= std::max<std::size_t>(options_.max_queue, 1)) {
            queue_.pop_front();
            ++counts_.dropped;
            ++done_;
        }
        was_empty = queue_.empty();
        queue_.push_back(std::move(item));
        ticket = ++queued_;
    }
    // The writer waits only on an empty queue, and takes all of it when it wakes.
    if (was_empty) wake_.notify_one();
    return ticket;
}

void MetricsHistory::wait_for(std::uint64_t ticket) {
    std::unique_lock<std::mutex> lock(mu_);
    written_.wait(lock, [&] { return done_ >= ticket; });
}

void MetricsHistory::record_report(const std::string& host_id, double unix_seconds,
                                   SampleSet host, std::vector<VmSamples> vms) {
    if (host_id.empty() || host_id.size() > kMaxHistoryName) return;
    Item item;
    item.file = host_key(host_id);
    item.time = unix_seconds;
    item.members.reserve(vms.size() + 1);
    if (valid(host))
        item.members.emplace_back(Entity{EntityKind::host, host_id}, std::move(host));
    for (VmSamples& vm : vms)
        if (valid(vm.samples) && !vm.name.empty() && vm.name.size() <= kMaxHistoryName)
            item.members.emplace_back(Entity{EntityKind::vm, std::move(vm.name)},
                                      std::move(vm.samples));
    if (!item.members.empty()) enqueue(std::move(item));
}

void MetricsHistory::record(Entity entity, double unix_seconds, SampleSet samples) {
    if (!valid(samples) || entity.name.empty() || entity.name.size() > kMaxHistoryName) return;
    Item item;
    item.file = entity.kind == EntityKind::host ? host_key(entity.name) : vm_key(entity.name);
    item.time = unix_seconds;
    item.members.emplace_back(std::move(entity), std::move(samples));
    enqueue(std::move(item));
}

void MetricsHistory::record(Entity entity, double unix_seconds,
                            const std::vector<Sample>& samples) {
    std::vector<Series> series;
    SampleSet set;
    for (const Sample& s : samples) {
        series.push_back(s.series);
        set.values.push_back(s.value);
    }
    set.series = shapes_.intern(std::move(series));
    record(std::move(entity), unix_seconds, std::move(set));
}

void MetricsHistory::flush() {
    std::uint64_t ticket;
    {
        std::lock_guard<std::mutex> lock(mu_);
        ticket = queued_;
    }
    wait_for(ticket);
}

void MetricsHistory::forget(Entity entity) {
    Item item;
    item.entity = std::move(entity);
    item.forget = true;
    enqueue(std::move(item));
}

std::size_t MetricsHistory::sweep() {
    Item item;
    item.sweep = true;
    wait_for(enqueue(std::move(item)));
    std::lock_guard<std::mutex> lock(mu_);
    return last_swept_;
}

MetricsHistory::Counts MetricsHistory::counts() const {
    std::lock_guard<std::mutex> lock(mu_);
    return counts_;
}

void MetricsHistory::run() {
    discard_old_layout();
    auto next_sweep = clock_.now() + kSweepEvery;
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
        wake_.wait_for(lock, std::chrono::seconds(10),
                       [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty() && stopping_) return;
        std::deque<Item> batch;
        batch.swap(queue_);
        lock.unlock();
        for (Item& item : batch) {
            if (item.forget || item.sweep) publish();  // before they drop latest values
            if (item.forget) {
                const std::string key = item.entity.kind == EntityKind::host
                                            ? host_key(item.entity.name)
                                            : vm_key(item.entity.name);
                drop_pack(key);
                std::error_code ec;
                fs::remove(path_of(key), ec);
                std::lock_guard<std::mutex> relock(mu_);
                latest_.erase(item.entity);
            } else if (item.sweep) {
                const std::size_t swept = sweep_files();
                std::lock_guard<std::mutex> relock(mu_);
                last_swept_ = swept;
            } else {
                write(item);
            }
        }
        if (clock_.now() >= next_sweep) {
            next_sweep = clock_.now() + kSweepEvery;
            sweep_files();
        }
        lock.lock();
        publish_locked();
        done_ += batch.size();
        written_.notify_all();
    }
}

std::shared_ptr<const std::vector<Series>> MetricsHistory::shared_columns(
    std::vector<Series> columns) {
    constexpr std::size_t kMaxSets = 4096;  // beyond it (an unusual site), a copy each
    std::string key;  // each name length-prefixed, so no two sets share a key
    auto add = [&key](const std::string& name) {
        key += std::to_string(name.size());
        key += ':';
        key += name;
    };
    for (const Series& s : columns) {
        key += s.kind == SeriesKind::gauge ? 'g' : 'c';
        add(s.metric);
        key += std::to_string(s.labels.size());
        for (const auto& [k, v] : s.labels) {
            add(k);
            add(v);
        }
    }
    auto found = column_sets_.find(key);
    if (found != column_sets_.end()) return found->second;
    auto shared = std::make_shared<const std::vector<Series>>(std::move(columns));
    if (column_sets_.size() < kMaxSets) column_sets_.emplace(std::move(key), shared);
    return shared;
}

void MetricsHistory::touch(Pack& pack) {
    if (pack.in_open) {
        open_.splice(open_.begin(), open_, pack.open_at);
        return;
    }
    open_.push_front(&pack);
    pack.open_at = open_.begin();
    pack.in_open = true;
    while (open_.size() > max_open_) {
        Pack* oldest = open_.back();
        open_.pop_back();
        oldest->in_open = false;
        if (oldest->file) oldest->file->close_descriptor();
    }
}

void MetricsHistory::drop_pack(const std::string& key) {
    auto it = packs_.find(key);
    if (it == packs_.end()) return;
    if (it->second->in_open) open_.erase(it->second->open_at);
    packs_.erase(it);
}

MetricsHistory::Pack* MetricsHistory::pack_of(const std::string& key) {
    auto& slot = packs_[key];
    if (!slot) {
        slot = std::make_unique<Pack>();
        slot->key = key;
    }
    Pack& pack = *slot;
    if (pack.file && !pack.file->is_open()) {
        if (pack.file->reopen(true))
            touch(pack);
        else  // gone or changed under us: read it again from its header, below
            pack.reset();
    }
    if (pack.file) {
        touch(pack);
        return &pack;
    }
    auto file = HistoryFile::open(path_of(key), true);
    if (!file) {
        if (file.status().code() != Code::not_found && options_.log)
            options_.log("metrics history: " + file.status().message() +
                         ": made again (its rows are lost)");
        return &pack;  // absent or damaged: widen() makes it
    }
    // A file of other archives (the server's options changed) starts again.
    if ((*file)->archives() != options_.archives) return &pack;
    // Its columns as blocks: consecutive columns of one member.
    const std::vector<Series>& columns = (*file)->columns();
    std::vector<Series> block;
    std::string member;
    auto close_block = [&] {
        if (block.empty()) return;
        pack.blocks.push_back({member, shared_columns(std::move(block)), pack.width});
        pack.width += pack.blocks.back().series->size();
        block.clear();
    };
    for (const Series& c : columns) {
        const std::string* m = column_member(c);
        if (!m) {  // not written by this layout: start again
            pack.reset();
            return &pack;
        }
        if (*m != member || block.empty()) {
            close_block();
            member = *m;
        }
        block.push_back(strip_member(c));
    }
    close_block();
    pack.file = std::move(*file);
    pack.file->forget_columns();
    pack.last_raw.assign(pack.width, kNaN);
    pack.last_time.assign(pack.width, kNaN);
    ++pack.generation;
    touch(pack);
    return &pack;
}

void MetricsHistory::map_members(Pack& pack, const Item& item,
                                 std::vector<std::pair<std::string, Series>>* added) {
    for (const auto& [entity, samples] : item.members) {
        const std::string member = member_of(entity);
        Pack::Mapping& m = pack.mappings[member];
        if (pack.file && m.shape == samples.series && m.generation == pack.generation) continue;
        if (entity.kind == EntityKind::vm && added) index_->add(escape(entity.name), pack.key);
        const std::vector<Series>& series = *samples.series;
        m.shape = samples.series;
        m.generation = pack.generation;
        m.column.assign(series.size(), -1);
        std::size_t have = 0, adding = 0;
        for (const Pack::Block& b : pack.blocks)
            if (b.member == member) have += b.series->size();
        for (std::size_t i = 0; i < series.size(); ++i) {
            const Series& s = series[i];
            for (const Pack::Block& b : pack.blocks) {
                if (b.member != member) continue;
                for (std::size_t j = 0; j < b.series->size() && m.column[i] < 0; ++j)
                    if ((*b.series)[j].same(s)) m.column[i] = int(b.first + j);
                if (m.column[i] >= 0) break;
            }
            if (m.column[i] >= 0 || !added) continue;
            bool seen = false;
            for (const auto& [am, as] : *added) seen = seen || (am == member && as.same(s));
            if (seen || !fits(s) || have + adding >= kMaxHistoryColumns ||
                pack.width + added->size() >= kMaxHistoryFileColumns)
                continue;
            added->emplace_back(member, s);
            ++adding;
        }
        m.dropped = std::size_t(std::count(m.column.begin(), m.column.end(), -1));
    }
}

Status MetricsHistory::widen(Pack& pack, std::vector<std::pair<std::string, Series>> added,
                             const Item& item) {
    // The new columns: a block per member, in the order they came.
    std::vector<Pack::Block> fresh_blocks;
    {
        std::vector<std::string> order;
        std::map<std::string, std::vector<Series>> by_member;
        for (auto& [member, series] : added) {
            if (!by_member.count(member)) order.push_back(member);
            by_member[member].push_back(std::move(series));
        }
        for (const std::string& member : order)
            fresh_blocks.push_back({member, shared_columns(std::move(by_member[member])), 0});
    }
    const fs::path path = path_of(pack.key);
    if (!pack.file) {
        // Nothing to carry over (a new file, or a damaged one): made in place, in one step
        // (create_open() links it whole, or writes a temporary file and renames it).
        pack.reset();
        for (Pack::Block& b : fresh_blocks) {
            b.first = pack.width;
            pack.width += b.series->size();
            pack.blocks.push_back(std::move(b));
        }
        auto made = HistoryFile::create_open(path, options_.archives, pack.all_columns());
        if (!made) {
            pack.reset();
            return made.status();
        }
        pack.file = std::move(*made);
        pack.file->forget_columns();
        pack.fresh = true;
        pack.last_raw.assign(pack.width, kNaN);
        pack.last_time.assign(pack.width, kNaN);
        touch(pack);
        return Status::ok();
    }
    // Every archive's retained rows, up to this report.
    const auto& archives = options_.archives;
    std::vector<std::vector<HistoryRow>> old_rows(archives.size());
    const double until = std::max(pack.written, item.time);
    for (std::size_t a = 0; a < archives.size(); ++a) {
        const std::int64_t last = std::int64_t(until) / archives[a].step_seconds;
        auto rows = pack.file->read_rows(a, last - archives[a].rows + 1, last);
        if (!rows) return rows.status();
        old_rows[a] = std::move(*rows);
    }
    // The members whose columns stay: the host, this report's, and any VM with a value in a
    // retained row (a VM that left, or was removed, goes once its rows have aged out).
    std::set<std::string> present;
    for (const auto& [entity, samples] : item.members) present.insert(member_of(entity));
    auto has_values = [&](const Pack::Block& b) {
        for (const auto& rows : old_rows)
            for (const HistoryRow& r : rows)
                for (std::size_t j = 0; j < b.series->size(); ++j)
                    if (!std::isnan(r.values[b.first + j])) return true;
        return false;
    };
    std::vector<Pack::Block> kept;
    std::vector<int> moved(pack.width, -1);  // old column -> new
    std::size_t width = 0;
    for (const Pack::Block& b : pack.blocks) {
        if (!b.member.empty() && !present.count(b.member) && !has_values(b)) continue;
        for (std::size_t j = 0; j < b.series->size(); ++j) moved[b.first + j] = int(width + j);
        kept.push_back({b.member, b.series, width});
        width += b.series->size();
    }
    for (Pack::Block& b : fresh_blocks) {
        b.first = width;
        width += b.series->size();
        kept.push_back(std::move(b));
    }
    Pack widened;
    widened.blocks = kept;
    widened.width = width;
    const fs::path next = path.string() + ".new";
    if (Status s = HistoryFile::create(next, archives, widened.all_columns()); !s) return s;
    auto made = HistoryFile::open(next, true);
    if (!made) return made.status();
    for (std::size_t a = 0; a < archives.size(); ++a)
        for (const HistoryRow& row : old_rows[a]) {
            HistoryRow out{row.bucket, row.reports, std::vector<float>(width, kNone)};
            for (std::size_t c = 0; c < moved.size() && c < row.values.size(); ++c)
                if (moved[c] >= 0) out.values[std::size_t(moved[c])] = row.values[c];
            if (Status s = (*made)->write_row(a, out); !s) return s;
        }
    std::error_code ec;
    fs::rename(next, path, ec);
    if (ec) return Status::error(Code::storage, "rename " + next.string() + ": " + ec.message());
    std::vector<double> raw(width, kNaN), times(width, kNaN);
    for (std::size_t c = 0; c < moved.size() && c < pack.last_raw.size(); ++c)
        if (moved[c] >= 0) {
            raw[std::size_t(moved[c])] = pack.last_raw[c];
            times[std::size_t(moved[c])] = pack.last_time[c];
        }
    pack.file = std::move(*made);
    pack.file->forget_columns();
    pack.blocks = std::move(kept);
    pack.width = width;
    pack.last_raw = std::move(raw);
    pack.last_time = std::move(times);
    ++pack.generation;
    pack.mappings.clear();
    pack.filling.clear();  // the rows being filled are read again from the new file
    pack.fresh = false;
    touch(pack);
    return Status::ok();
}

void MetricsHistory::write(Item& item) {
    Pack& pack = *pack_of(item.file);
    std::vector<std::pair<std::string, Series>> added;
    map_members(pack, item, &added);
    if (!pack.file || !added.empty()) {
        if (Status s = widen(pack, std::move(added), item); !s) {
            pending_counts_.errors += item.members.size();
            return;
        }
        map_members(pack, item, nullptr);
    }
    // The values this report gives: gauges as they are, counters as rates since the last.
    std::vector<double>& values = values_;
    values.assign(pack.width, kNaN);
    std::size_t dropped = 0;
    for (const auto& [entity, samples] : item.members) {
        const Pack::Mapping& m = pack.mappings[member_of(entity)];
        dropped += m.dropped;
        for (std::size_t i = 0; i < samples.size(); ++i) {
            if (m.column[i] < 0) continue;
            const std::size_t c = std::size_t(m.column[i]);
            const double v = samples.values[i];
            if ((*samples.series)[i].kind == SeriesKind::gauge) {
                values[c] = v;
                continue;
            }
            const double prev = pack.last_raw[c], prev_time = pack.last_time[c];
            if (!std::isnan(prev) && item.time > prev_time && v >= prev)
                values[c] = (v - prev) / (item.time - prev_time);
            pack.last_raw[c] = v;
            pack.last_time[c] = item.time;
        }
    }
    // Each archive's row of this time: its average so far, with this report. One write each.
    bool ok = true;
    const std::size_t archives = options_.archives.size();
    pack.filling.resize(archives, 0);
    pack.rows.resize(archives);
    pack.counts.resize(archives);
    for (std::size_t a = 0; a < archives; ++a) {
        const std::int64_t bucket =
            std::int64_t(std::floor(item.time / options_.archives[a].step_seconds));
        HistoryRow& row = pack.rows[a];
        std::vector<std::uint32_t>& counts = pack.counts[a];
        if (pack.filling[a] != 0 && bucket == pack.filling[a]) {
            // The row this server is filling.
        } else if (pack.filling[a] != 0 && bucket > pack.filling[a]) {
            // A new bucket after one this server wrote: nothing newer can be in the file.
            row.bucket = bucket;
            row.reports = 0;
            row.values.assign(values.size(), kNone);
            counts.assign(values.size(), 0);
        } else {
            // The first report into this file since the server started (or since it was
            // widened, or the clock went back): the file says what the bucket holds (nothing,
            // in a file just made).
            auto read = pack.fresh ? Result<HistoryRow>(HistoryRow{})
                                   : pack.file->read_row(a, bucket);
            if (!read) {
                ok = false;
                continue;
            }
            row = std::move(*read);
            if (row.bucket != bucket) {
                row.bucket = bucket;
                row.reports = 0;
                row.values.assign(values.size(), kNone);
                counts.assign(values.size(), 0);
            } else {
                // A row this server did not start (it restarted mid-bucket): each value counts
                // as many reports as the row says.
                counts.assign(values.size(), 0);
                for (std::size_t c = 0; c < values.size(); ++c)
                    if (!std::isnan(row.values[c])) counts[c] = row.reports;
            }
        }
        pack.filling[a] = bucket;
        for (std::size_t c = 0; c < values.size(); ++c) {
            if (std::isnan(values[c])) continue;
            const double old = std::isnan(row.values[c]) ? 0 : row.values[c];
            row.values[c] = float((old * counts[c] + values[c]) / (counts[c] + 1));
            ++counts[c];
        }
        ++row.reports;
        if (!pack.file->write_row(a, row)) ok = false;
    }
    pack.written = item.time;
    pack.fresh = false;
    pending_counts_.series_dropped += dropped;
    if (ok)
        pending_counts_.recorded += item.members.size();
    else
        pending_counts_.errors += item.members.size();
    for (const auto& [entity, samples] : item.members) {
        const Pack::Mapping& m = pack.mappings[member_of(entity)];
        if (pending_used_ == pending_.size()) pending_.emplace_back();
        Pending& latest = pending_[pending_used_++];
        latest.entity = &entity;
        latest.time = std::int64_t(item.time);
        latest.series = samples.series;
        latest.values.resize(samples.size());
        for (std::size_t i = 0; i < samples.size(); ++i)
            latest.values[i] = m.column[i] < 0 ? kNone : float(values[std::size_t(m.column[i])]);
    }
}

void MetricsHistory::publish() {
    std::lock_guard<std::mutex> lock(mu_);
    publish_locked();
}

void MetricsHistory::publish_locked() {
    counts_.recorded += pending_counts_.recorded;
    counts_.errors += pending_counts_.errors;
    counts_.series_dropped += pending_counts_.series_dropped;
    pending_counts_ = Counts();
    for (std::size_t i = 0; i < pending_used_; ++i) {
        Pending& p = pending_[i];
        auto latest = latest_.find(*p.entity);  // updated in place: no copy of the name
        if (latest == latest_.end())
            latest = latest_.emplace(*p.entity, LatestValues{*p.entity, 0, nullptr, {}}).first;
        latest->second.time = p.time;
        latest->second.series = std::move(p.series);
        latest->second.values.swap(p.values);  // each keeps its capacity for the next
        p.entity = nullptr;
    }
    pending_used_ = 0;
}

std::size_t MetricsHistory::sweep_files() {
    std::int64_t longest = 0;
    for (const ArchiveSpec& a : options_.archives)
        longest = std::max(longest, a.retention_seconds());
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(clock_.wall_now().time_since_epoch())
            .count();
    std::size_t removed = 0;
    for (const char* kind : {kHostFiles, kVmFiles}) {
        std::error_code ec;
        std::vector<fs::path> old;
        for (const auto& entry : fs::directory_iterator(options_.dir / kind, ec)) {
            struct stat st {};
            if (::stat(entry.path().c_str(), &st) != 0) continue;
            if (now - st.st_mtime > longest) old.push_back(entry.path());
        }
        for (const fs::path& path : old) {
            std::error_code rm;
            if (!fs::remove(path, rm)) continue;
            ++removed;
            if (path.extension() != ".hist") continue;  // a widening's leftover
            const std::string stem = path.stem().string();
            drop_pack(std::string(kind) + "/" + stem);
            // The entity the file was named after has no latest values left to show.
            const std::string name = unescape(stem);
            std::lock_guard<std::mutex> lock(mu_);
            latest_.erase(Entity{kind == kHostFiles ? EntityKind::host : EntityKind::vm, name});
        }
    }
    return removed;
}

std::vector<LatestValues> MetricsHistory::latest(EntityKind kind) const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<LatestValues> out;
    for (const auto& [entity, values] : latest_)
        if (entity.kind == kind) out.push_back(values);
    return out;
}

}  // namespace provisioner::server
