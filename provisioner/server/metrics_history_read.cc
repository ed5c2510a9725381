// MetricsHistory::read(): an entity's rows from the files that hold them (a VM's from every
// host that reported it), merged by bucket and downsampled.
#include <cmath>
#include <limits>
#include <map>

#include "history_layout.h"
#include "metrics_history.h"

namespace provisioner::server {

using namespace history_layout;

Result<HistoryAnswer> MetricsHistory::read(const Entity& entity, std::int64_t since,
                                           std::int64_t now, std::int64_t step) const {
    std::vector<std::string> keys;
    if (entity.kind == EntityKind::host) {
        keys.push_back(host_key(entity.name));
    } else {
        keys.push_back(vm_key(entity.name));
        const auto files = index_->files_of(escape(entity.name));
        keys.insert(keys.end(), files.begin(), files.end());
    }
    const std::string member = member_of(entity);
    std::vector<Series> columns;                   // the entity's, from every file
    std::map<std::int64_t, HistoryRow> rows;       // by bucket, values by columns' index
    std::vector<ArchiveSpec> archives;             // the first file's
    std::size_t archive = 0;
    std::int64_t use = 0;
    Status failure = Status::ok();
    for (const std::string& key : keys) {
        auto file = HistoryFile::open(path_of(key), false);
        if (!file) {
            if (file.status().code() != Code::not_found && failure) failure = file.status();
            continue;
        }
        // The entity's columns in this file, and each one's index in columns.
        std::vector<std::pair<std::size_t, std::size_t>> mine;
        const auto& file_columns = (*file)->columns();
        for (std::size_t c = 0; c < file_columns.size(); ++c) {
            const std::string* m = column_member(file_columns[c]);
            if (!m || *m != member) continue;
            Series s = strip_member(file_columns[c]);
            std::size_t at = 0;
            while (at < columns.size() && !columns[at].same(s)) ++at;
            if (at == columns.size()) columns.push_back(std::move(s));
            mine.emplace_back(c, at);
        }
        if (mine.empty()) continue;
        if (archives.empty()) {
            archives = (*file)->archives();
            archive = choose_archive(archives, since, now);
            use = effective_step(archives[archive], since, now, step);
        } else if ((*file)->archives() != archives) {
            continue;  // made under other options: its rows do not line up
        }
        const ArchiveSpec& spec = archives[archive];
        const std::int64_t first = since / use * use / spec.step_seconds;
        auto read = (*file)->read_rows(archive, first, now / spec.step_seconds);
        if (!read) {
            if (failure) failure = read.status();
            continue;
        }
        // A VM that moved within one bucket has it in two files: the later file's values win.
        for (const HistoryRow& r : *read) {
            HistoryRow& out = rows[r.bucket];
            out.bucket = r.bucket;
            out.reports = std::max(out.reports, r.reports);
            if (out.values.size() < columns.size()) out.values.resize(columns.size(), kNone);
            for (const auto& [from, to] : mine)
                if (!std::isnan(r.values[from])) out.values[to] = r.values[from];
        }
    }
    if (archives.empty()) {
        if (!failure) return failure;
        return Status::error(Code::not_found, "no history of " + entity.name);
    }
    std::vector<HistoryRow> ordered;
    ordered.reserve(rows.size());
    for (auto& [bucket, row] : rows) {
        row.values.resize(columns.size(), kNone);
        ordered.push_back(std::move(row));
    }
    return downsample(columns, archives[archive], ordered, since, now, use);
}

}  // namespace provisioner::server
