#include "metrics_history.h"

#include <sys/stat.h>

#include <cmath>
#include <limits>

namespace provisioner::server {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxOpenFiles = 256;
constexpr auto kSweepEvery = std::chrono::hours(1);
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A name as a file name: [A-Za-z0-9_-] and inner dots kept, every other byte %XX.
std::string file_name(const std::string& name) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(name[i]);
        if (std::isalnum(c) || c == '_' || c == '-' || (c == '.' && i > 0)) {
            out += char(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out + ".hist";
}

}  // namespace

struct MetricsHistory::State {
    std::shared_ptr<const std::vector<Series>> columns = std::make_shared<std::vector<Series>>();
    std::unique_ptr<HistoryFile> file;  // open while in use; at most kMaxOpenFiles together
    std::vector<double> last_raw;       // per column: a counter's last value (NaN: none)
    std::vector<double> last_time;      // and when it was reported
    double written = 0;                 // the last report's time
    // Per archive, the row being filled (its bucket, 0 until this server wrote one; the row
    // as last written, so a report needs no read) and how many values each column's average
    // holds (a counter has none at its first report): so each column is its own mean.
    std::vector<std::int64_t> filling;
    std::vector<HistoryRow> rows;
    std::vector<std::vector<std::uint32_t>> counts;
    bool fresh = false;  // the file was just made: every row is empty, none need be read
    // The column of each sample of the last report's shape (mapped_from) in mapped_to (the
    // columns then): the next report of that shape into the same columns needs no compare.
    // Empty when the columns are the shape itself (the common case: nothing to keep).
    std::shared_ptr<const std::vector<Series>> mapped_from, mapped_to;
    std::vector<int> mapping;
    std::size_t mapped_dropped = 0;  // samples beyond the series bound, in that mapping
};

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
    std::error_code ec;  // a directory that cannot be made shows as write errors
    fs::create_directories(options_.dir / "hosts", ec);
    fs::create_directories(options_.dir / "vms", ec);
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

fs::path MetricsHistory::file_of(const Entity& entity) const {
    return options_.dir / (entity.kind == EntityKind::host ? "hosts" : "vms") /
           file_name(entity.name);
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
    // The writer waits only on an empty queue, and takes all of it when it wakes: a report's
    // 21 entities wake it once, not 21 times (a futex call and a switch each).
    if (was_empty) wake_.notify_one();
    return ticket;
}

void MetricsHistory::wait_for(std::uint64_t ticket) {
    std::unique_lock<std::mutex> lock(mu_);
    written_.wait(lock, [&] { return done_ >= ticket; });
}

void MetricsHistory::record(Entity entity, double unix_seconds, SampleSet samples) {
    if (samples.values.empty() || !samples.series ||
        samples.series->size() != samples.values.size() || entity.name.empty() ||
        entity.name.size() > kMaxHistoryName)
        return;
    enqueue(Item{std::move(entity), unix_seconds, std::move(samples)});
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
                drop(item.entity);
                std::error_code ec;
                fs::remove(file_of(item.entity), ec);
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
        // Descriptors only: what each file's header said stays, so the next write reopens
        // it with one open() and no parse.
        if (open_files_ > kMaxOpenFiles) {
            for (const Entity& entity : opened_) {
                auto it = states_.find(entity);  // absent when dropped meanwhile
                if (it != states_.end() && it->second->file) it->second->file->close_descriptor();
            }
            opened_.clear();
            open_files_ = 0;
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

void MetricsHistory::note_opened(const Entity& entity) {
    ++open_files_;
    opened_.push_back(entity);
}

Status MetricsHistory::widen(State& state, const Entity& entity,
                             std::shared_ptr<const std::vector<Series>> columns) {
    const fs::path path = file_of(entity);
    if (!state.file) {
        // Nothing to carry over (a new entity, or a damaged file): made in place, in one
        // step (create_open() links it whole, or writes a temporary file and renames it).
        auto made = HistoryFile::create_open(path, options_.archives, *columns);
        if (!made) return made.status();
        note_opened(entity);
        state.file = std::move(*made);
        state.fresh = true;
        state.columns = std::move(columns);
        state.last_raw.resize(state.columns->size(), kNaN);
        state.last_time.resize(state.columns->size(), kNaN);
        return Status::ok();
    }
    const fs::path next = path.string() + ".new";
    if (Status s = HistoryFile::create(next, options_.archives, *columns); !s) return s;
    auto fresh = HistoryFile::open(next, true);
    if (!fresh) return fresh.status();
    // The old rows, each widened with NaN for the new columns.
    if (state.file) {
        const HistoryFile& old = *state.file;
        for (std::size_t a = 0; a < old.archives().size() && a < options_.archives.size(); ++a) {
            if (!(old.archives()[a] == options_.archives[a])) break;
            const std::int64_t last = std::int64_t(state.written) / old.archives()[a].step_seconds;
            auto rows = old.read_rows(a, last - old.archives()[a].rows + 1, last);
            if (!rows) return rows.status();
            for (HistoryRow& row : *rows) {
                row.values.resize(columns->size(), std::numeric_limits<float>::quiet_NaN());
                if (Status s = (*fresh)->write_row(a, row); !s) return s;
            }
        }
    }
    std::error_code ec;
    fs::rename(next, path, ec);
    if (ec) return Status::error(Code::storage, "rename " + next.string() + ": " + ec.message());
    if (!state.file->is_open()) note_opened(entity);
    state.file = std::move(*fresh);
    state.columns = std::move(columns);
    state.last_raw.resize(state.columns->size(), kNaN);
    state.last_time.resize(state.columns->size(), kNaN);
    return Status::ok();
}

Status MetricsHistory::map_columns(State& state, const Item& item) {
    const std::vector<Series>& series = *item.samples.series;
    std::vector<int>& column = state.mapping;
    column.assign(series.size(), -1);
    std::vector<Series> added;
    std::size_t dropped = 0;
    const auto& columns = *state.columns;
    std::size_t hint = 0;
    for (std::size_t i = 0; i < series.size(); ++i) {
        const Series& s = series[i];
        if (hint < columns.size() && columns[hint].same(s)) {
            column[i] = int(hint++);
            continue;
        }
        for (std::size_t c = 0; c < columns.size(); ++c)
            if (columns[c].same(s)) {
                column[i] = int(c);
                hint = c + 1;
                break;
            }
        if (column[i] >= 0) continue;
        bool seen = false;
        for (std::size_t a = 0; a < added.size() && !seen; ++a) seen = added[a].same(s);
        if (seen) continue;
        if (columns.size() + added.size() >= kMaxHistoryColumns) {
            ++dropped;
            continue;
        }
        added.push_back(s);
    }
    state.mapped_from.reset();  // until the mapping below is whole
    if (!added.empty() || !state.file) {
        std::shared_ptr<const std::vector<Series>> wider;
        if (columns.empty() && added.size() == series.size()) {
            // A new entity whose every sample is a column of its own: the report's own
            // (shared) series are its columns, in their order.
            wider = item.samples.series;
            for (std::size_t i = 0; i < column.size(); ++i) column[i] = int(i);
        } else {
            std::vector<Series> all = columns;
            all.insert(all.end(), added.begin(), added.end());
            wider = shared_columns(std::move(all));
        }
        if (Status s = widen(state, item.entity, wider); !s) return s;
        for (std::size_t i = 0; i < series.size(); ++i) {
            if (column[i] >= 0) continue;
            for (std::size_t c = 0; c < state.columns->size(); ++c)
                if ((*state.columns)[c].same(series[i])) column[i] = int(c);
        }
    }
    if (state.columns == item.samples.series) {  // the identity: write() needs no mapping
        state.mapping = std::vector<int>();
        return Status::ok();
    }
    state.mapped_from = item.samples.series;
    state.mapped_to = state.columns;
    state.mapped_dropped = dropped;
    return Status::ok();
}

void MetricsHistory::write(Item& item) {
    auto& slot = states_[item.entity];
    if (!slot) slot = std::make_unique<State>();
    State& state = *slot;
    auto failed = [&] {
        std::lock_guard<std::mutex> lock(mu_);
        ++counts_.errors;
    };
    if (state.file && !state.file->is_open()) {
        if (state.file->reopen(true)) {
            note_opened(item.entity);
        } else {  // gone or changed under us: read it again from its header, below
            state.file.reset();
            state.filling.clear();
        }
    }
    if (!state.file) {
        auto file = HistoryFile::open(file_of(item.entity), true);
        if (file) {
            state.file = std::move(*file);
            note_opened(item.entity);
            // A file of other archives (the server's options changed) starts again.
            if (state.file->archives() != options_.archives) {
                state.file.reset();
                --open_files_;
                state.columns = std::make_shared<std::vector<Series>>();
            } else if (state.columns->empty()) {
                state.columns = shared_columns(state.file->columns());
                state.last_raw.assign(state.columns->size(), kNaN);
                state.last_time.assign(state.columns->size(), kNaN);
            }
        } else if (file.status().code() != Code::not_found) {
            state.columns = std::make_shared<std::vector<Series>>();  // damaged: start again
        }
    }
    // Each sample's column: sample i is column i when the report's series are the entity's
    // columns (a shape like every report's since the entity's file was made: the common
    // case); else known from this shape's last report into these columns, or found by name
    // (new series widen the file: rare, an interface or a disk appears).
    bool identity = state.file && state.columns == item.samples.series;
    if (!identity && (!state.file || state.mapped_from != item.samples.series ||
                      state.mapped_to != state.columns)) {
        if (Status s = map_columns(state, item); !s) {
            failed();
            return;
        }
        identity = state.columns == item.samples.series;
    }
    const std::vector<int>& column = state.mapping;
    const std::size_t dropped = identity ? 0 : state.mapped_dropped;
    // The values this report gives: gauges as they are, counters as rates since the last.
    std::vector<double>& values = values_;
    values.assign(state.columns->size(), kNaN);
    for (std::size_t i = 0; i < item.samples.size(); ++i) {
        if (!identity && column[i] < 0) continue;
        const std::size_t c = identity ? i : std::size_t(column[i]);
        const double v = item.samples.values[i];
        if ((*state.columns)[c].kind == SeriesKind::gauge) {
            values[c] = v;
            continue;
        }
        const double prev = state.last_raw[c], prev_time = state.last_time[c];
        if (!std::isnan(prev) && item.time > prev_time && v >= prev)
            values[c] = (v - prev) / (item.time - prev_time);
        state.last_raw[c] = v;
        state.last_time[c] = item.time;
    }
    // Each archive's row of this time: its average so far, with this report.
    bool ok = true;
    const std::size_t archives = options_.archives.size();
    state.filling.resize(archives, 0);
    state.rows.resize(archives);
    state.counts.resize(archives);
    constexpr float kNone = std::numeric_limits<float>::quiet_NaN();
    for (std::size_t a = 0; a < archives; ++a) {
        const std::int64_t bucket =
            std::int64_t(std::floor(item.time / options_.archives[a].step_seconds));
        HistoryRow& row = state.rows[a];
        std::vector<std::uint32_t>& counts = state.counts[a];
        if (state.filling[a] != 0 && bucket == state.filling[a]) {
            // The row this server is filling (widened with NaN if columns came meanwhile).
            row.values.resize(values.size(), kNone);
            counts.resize(values.size(), 0);
        } else if (state.filling[a] != 0 && bucket > state.filling[a]) {
            // A new bucket after one this server wrote: nothing newer can be in the file.
            row.bucket = bucket;
            row.reports = 0;
            row.values.assign(values.size(), kNone);
            counts.assign(values.size(), 0);
        } else {
            // The first report of this entity since the server started (or the clock went
            // back): the file says what the bucket holds (nothing, in a file just made).
            auto read = state.fresh ? Result<HistoryRow>(HistoryRow{})
                                    : state.file->read_row(a, bucket);
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
        state.filling[a] = bucket;
        for (std::size_t c = 0; c < values.size(); ++c) {
            if (std::isnan(values[c])) continue;
            const double old = std::isnan(row.values[c]) ? 0 : row.values[c];
            row.values[c] = float((old * counts[c] + values[c]) / (counts[c] + 1));
            ++counts[c];
        }
        ++row.reports;
        if (!state.file->write_row(a, row)) ok = false;
    }
    state.written = item.time;
    state.fresh = false;
    pending_counts_.series_dropped += dropped;
    if (ok)
        ++pending_counts_.recorded;
    else
        ++pending_counts_.errors;
    if (pending_used_ == pending_.size()) pending_.emplace_back();
    Pending& latest = pending_[pending_used_++];
    latest.entity = &item.entity;
    latest.time = std::int64_t(item.time);
    latest.series = state.columns;
    latest.values.assign(values.begin(), values.end());
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

void MetricsHistory::drop(const Entity& entity) {
    auto it = states_.find(entity);
    if (it != states_.end()) {
        if (it->second->file && it->second->file->is_open()) --open_files_;
        states_.erase(it);
    }
    std::lock_guard<std::mutex> lock(mu_);
    latest_.erase(entity);
}

std::size_t MetricsHistory::sweep_files() {
    std::int64_t longest = 0;
    for (const ArchiveSpec& a : options_.archives)
        longest = std::max(longest, a.retention_seconds());
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(clock_.wall_now().time_since_epoch())
            .count();
    std::size_t removed = 0;
    for (const char* kind : {"hosts", "vms"}) {
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(options_.dir / kind, ec)) {
            struct stat st {};
            if (::stat(entry.path().c_str(), &st) != 0) continue;
            if (now - st.st_mtime <= longest) continue;
            std::error_code rm;
            if (fs::remove(entry.path(), rm)) ++removed;
            // Its state, if any, held the removed file: forget it.
            for (auto it = states_.begin(); it != states_.end(); ++it)
                if (file_of(it->first) == entry.path()) {
                    drop(Entity(it->first));
                    break;
                }
        }
    }
    return removed;
}

Result<HistoryAnswer> MetricsHistory::read(const Entity& entity, std::int64_t since,
                                           std::int64_t now, std::int64_t step) const {
    auto file = HistoryFile::open(file_of(entity), false);
    if (!file) return file.status();
    const auto& archives = (*file)->archives();
    const std::size_t a = choose_archive(archives, since, now);
    const ArchiveSpec& archive = archives[a];
    const std::int64_t use = effective_step(archive, since, now, step);
    const std::int64_t first = since / use * use / archive.step_seconds;
    auto rows = (*file)->read_rows(a, first, now / archive.step_seconds);
    if (!rows) return rows.status();
    return downsample((*file)->columns(), archive, *rows, since, now, use);
}

std::vector<LatestValues> MetricsHistory::latest(EntityKind kind) const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<LatestValues> out;
    for (const auto& [entity, values] : latest_)
        if (entity.kind == kind) out.push_back(values);
    return out;
}

}  // namespace provisioner::server
