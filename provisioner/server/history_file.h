// One entity's metrics history on disk: a file of fixed size holding round-robin archives
// (rrdtool's and Ganglia's idea). Each archive has a step and a number of rows; a row holds
// the average of the reports of one step-long bucket of time, one 32-bit float per column, and
// is found at (bucket mod rows), so a new bucket overwrites the one `rows` steps older: old
// data goes by itself and the file never grows. Each row stores its bucket number, so a reader
// tells a stale or never-written row from a current one without any other bookkeeping, and a
// crash between two writes loses at most the rows being written.
//
// Layout (native byte order, little-endian on every machine we build for):
//   "PVHIST01", u32 header_bytes, u32 archive_count, u32 column_count, u32 reserved,
//   archive_count x {u32 step_seconds, u32 rows},
//   column_count x {u8 kind, u8 label_count, u16 n, metric, label_count x {u16 n, key, u16 n,
//   value}}, zero padding to header_bytes (a multiple of 8);
//   then each archive's rows, each {u32 bucket (Unix time / step; 0: never written),
//   u32 reports averaged, f32 value per column (NaN: none)}.
// Size: header_bytes + sum over archives of rows * (8 + 4 * columns) (file_bytes()).
// At most kMaxHistoryFileColumns columns, a header of at most 16 MiB.
// Not thread-safe; a file replaced by rename while open keeps being read as it was.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "history_series.h"
#include "provisioner/status.h"

namespace provisioner::server {

struct ArchiveSpec {
    std::uint32_t step_seconds = 15;
    std::uint32_t rows = 5760;
    std::int64_t retention_seconds() const { return std::int64_t(step_seconds) * rows; }
    bool operator==(const ArchiveSpec&) const = default;
};

// Bounds on what a file holds (a column's names longer than these are refused). An entity has
// at most kMaxHistoryColumns series of kMaxHistoryLabels labels; a file holds several
// entities' (metrics_history.h), each column with one label more (its entity).
inline constexpr std::size_t kMaxHistoryColumns = 128;
inline constexpr std::size_t kMaxHistoryFileColumns = 4096;
inline constexpr std::size_t kMaxHistoryLabels = 8;
inline constexpr std::size_t kMaxHistoryName = 200;  // a metric, label key or label value
inline constexpr std::size_t kMaxHistoryArchives = 8;

struct HistoryRow {
    std::int64_t bucket = 0;    // 0: none
    std::uint32_t reports = 0;  // how many reports the values average
    std::vector<float> values;  // one per column; NaN where the bucket has none
};

class HistoryFile {
  public:
    // Writes a new file at path (through a temporary file and a rename, so a reader sees the
    // old file or the new one) with these archives and columns and no data. Errors:
    // invalid_argument beyond the bounds above, error on I/O.
    static Status create(const std::filesystem::path& path,
                         const std::vector<ArchiveSpec>& archives,
                         const std::vector<Series>& columns);
    // create() and open() in one, for a path where no file is: the new file, open for
    // writing, its layout known without reading it back. Made unnamed (O_TMPFILE) and linked
    // at path once whole, so a reader never sees it half made and no temporary name is made
    // and renamed (at 200,000 entities, those directory operations were most of the history's
    // time); where that cannot be done (no O_TMPFILE, a file already at path), create() and
    // open(). create()'s errors.
    static Result<std::unique_ptr<HistoryFile>> create_open(
        const std::filesystem::path& path, const std::vector<ArchiveSpec>& archives,
        const std::vector<Series>& columns);
    // Opens a file create() wrote; error (with the path) when it is absent (not_found),
    // unreadable, or not a well-formed history file of the size its header implies.
    static Result<std::unique_ptr<HistoryFile>> open(const std::filesystem::path& path,
                                                     bool writable);
    ~HistoryFile();
    HistoryFile(const HistoryFile&) = delete;
    HistoryFile& operator=(const HistoryFile&) = delete;

    static std::uint64_t file_bytes(const std::vector<ArchiveSpec>& archives,
                                    const std::vector<Series>& columns);

    const std::vector<ArchiveSpec>& archives() const { return archives_; }
    const std::vector<Series>& columns() const { return columns_; }

    // Closes the descriptor but keeps the layout open() read, so reopen() needs no header
    // parse (the history's writer keeps a few hundred descriptors for hundreds of thousands
    // of files). The columns' names are dropped (columns() is empty from then on: the writer
    // keeps one shared copy of them); rows still read and write by their count. Reads and
    // writes on a closed file fail until reopen().
    void close_descriptor();
    // Drops the columns' names alone (the writer keeps its own): columns() is empty from then.
    void forget_columns() { columns_ = std::vector<Series>(); }
    bool is_open() const { return fd_ >= 0; }
    // Opens the same path again; error when it is gone or no longer the size its header gave.
    Status reopen(bool writable);

    // The row of archive that holds bucket; bucket 0 (and no values) when it holds another.
    Result<HistoryRow> read_row(std::size_t archive, std::int64_t bucket) const;
    // Writes row at its place in archive (row.values: one per column).
    Status write_row(std::size_t archive, const HistoryRow& row);
    // The rows of archive whose buckets lie in [first, last], oldest first; stale rows and
    // buckets older than the archive keeps are left out.
    Result<std::vector<HistoryRow>> read_rows(std::size_t archive, std::int64_t first,
                                              std::int64_t last) const;

  private:
    HistoryFile() = default;
    // The offsets of the archives, from header_bytes_, archives_ and column_count_.
    void lay_out();
    std::uint64_t row_offset(std::size_t archive, std::int64_t bucket) const;
    std::size_t row_bytes() const { return 8 + 4 * column_count_; }
    std::uint64_t data_bytes() const {  // every archive's rows
        std::uint64_t total = 0;
        for (const ArchiveSpec& a : archives_) total += std::uint64_t(a.rows) * row_bytes();
        return total;
    }
    HistoryRow decode_row(const unsigned char* p) const;

    int fd_ = -1;
    std::filesystem::path path_;
    std::uint32_t header_bytes_ = 0;
    std::vector<ArchiveSpec> archives_;
    std::vector<std::uint64_t> archive_offsets_;
    std::vector<Series> columns_;
    std::size_t column_count_ = 0;  // columns_.size() until close_descriptor() drops them
    mutable std::vector<unsigned char> buffer_;  // write_row()'s
};

}  // namespace provisioner::server
