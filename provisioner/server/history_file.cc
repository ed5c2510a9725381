#include "history_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <string>

namespace provisioner::server {

namespace {

constexpr char kMagic[8] = {'P', 'V', 'H', 'I', 'S', 'T', '0', '1'};

class Writer {
  public:
    void u8(std::uint8_t v) { bytes.push_back(v); }
    void u16(std::uint16_t v) { raw(&v, 2); }
    void u32(std::uint32_t v) { raw(&v, 4); }
    void str(const std::string& s) {
        u16(std::uint16_t(s.size()));
        raw(s.data(), s.size());
    }
    void raw(const void* p, std::size_t n) {
        auto* c = static_cast<const unsigned char*>(p);
        bytes.insert(bytes.end(), c, c + n);
    }
    std::vector<unsigned char> bytes;
};

class Reader {
  public:
    Reader(const unsigned char* p, std::size_t n) : p_(p), n_(n) {}
    bool u8(std::uint8_t& v) { return raw(&v, 1); }
    bool u16(std::uint16_t& v) { return raw(&v, 2); }
    bool u32(std::uint32_t& v) { return raw(&v, 4); }
    bool str(std::string& s) {
        std::uint16_t n = 0;
        if (!u16(n) || n > kMaxHistoryName || n_ - at_ < n) return false;
        s.assign(reinterpret_cast<const char*>(p_ + at_), n);
        at_ += n;
        return true;
    }
    bool raw(void* out, std::size_t n) {
        if (n_ - at_ < n) return false;
        std::memcpy(out, p_ + at_, n);
        at_ += n;
        return true;
    }
    std::size_t at() const { return at_; }

  private:
    const unsigned char* p_;
    std::size_t n_;
    std::size_t at_ = 0;
};

Status check_bounds(const std::vector<ArchiveSpec>& archives, const std::vector<Series>& columns) {
    if (archives.empty() || archives.size() > kMaxHistoryArchives)
        return Status::error(Code::invalid_argument, "a history needs 1 to 8 archives");
    for (const ArchiveSpec& a : archives)
        if (a.step_seconds == 0 || a.rows == 0)
            return Status::error(Code::invalid_argument, "an archive needs a step and rows");
    if (columns.size() > kMaxHistoryFileColumns)
        return Status::error(Code::invalid_argument, "more than 4096 series in one file");
    for (const Series& s : columns) {
        if (s.metric.empty() || s.metric.size() > kMaxHistoryName ||
            s.labels.size() > kMaxHistoryLabels + 1)
            return Status::error(Code::invalid_argument, "series name or labels out of bounds");
        for (const auto& [k, v] : s.labels)
            if (k.size() > kMaxHistoryName || v.size() > kMaxHistoryName)
                return Status::error(Code::invalid_argument, "a label is longer than 200 bytes");
    }
    return Status::ok();
}

std::vector<unsigned char> encode_header(const std::vector<ArchiveSpec>& archives,
                                         const std::vector<Series>& columns) {
    Writer w;
    w.raw(kMagic, sizeof kMagic);
    w.u32(0);  // header_bytes, set below
    w.u32(std::uint32_t(archives.size()));
    w.u32(std::uint32_t(columns.size()));
    w.u32(0);
    for (const ArchiveSpec& a : archives) {
        w.u32(a.step_seconds);
        w.u32(a.rows);
    }
    for (const Series& s : columns) {
        w.u8(std::uint8_t(s.kind));
        w.u8(std::uint8_t(s.labels.size()));
        w.str(s.metric);
        for (const auto& [k, v] : s.labels) {
            w.str(k);
            w.str(v);
        }
    }
    while (w.bytes.size() % 8) w.u8(0);
    std::uint32_t size = std::uint32_t(w.bytes.size());
    std::memcpy(w.bytes.data() + sizeof kMagic, &size, 4);
    return w.bytes;
}

bool full_pwrite(int fd, const void* p, std::size_t n, std::uint64_t off) {
    auto* c = static_cast<const unsigned char*>(p);
    while (n > 0) {
        ssize_t w = ::pwrite(fd, c, n, off_t(off));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        c += w, n -= std::size_t(w), off += std::uint64_t(w);
    }
    return true;
}

// Bytes read; fewer than n only at the end of the file. -1 on error.
ssize_t full_pread(int fd, void* p, std::size_t n, std::uint64_t off) {
    auto* c = static_cast<unsigned char*>(p);
    std::size_t done = 0;
    while (done < n) {
        ssize_t r = ::pread(fd, c + done, n - done, off_t(off + done));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        done += std::size_t(r);
    }
    return ssize_t(done);
}

// An I/O error as the history's callers see it (the store's code for I/O).
Status io_error(const std::string& what) {
    return Status::error(Code::storage, what + ": " + std::strerror(errno));
}

Status malformed(const std::filesystem::path& path, const std::string& why) {
    return Status::error(Code::storage, "history file " + path.string() + ": " + why);
}

}  // namespace

std::uint64_t HistoryFile::file_bytes(const std::vector<ArchiveSpec>& archives,
                                      const std::vector<Series>& columns) {
    std::uint64_t total = encode_header(archives, columns).size();
    for (const ArchiveSpec& a : archives) total += std::uint64_t(a.rows) * (8 + 4 * columns.size());
    return total;
}

Status HistoryFile::create(const std::filesystem::path& path,
                           const std::vector<ArchiveSpec>& archives,
                           const std::vector<Series>& columns) {
    if (Status s = check_bounds(archives, columns); !s) return s;
    const auto header = encode_header(archives, columns);
    if (header.size() > (16u << 20))
        return Status::error(Code::invalid_argument, "a history header over 16 MiB");
    const std::string tmp = path.string() + ".tmp";
    int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return io_error("create " + tmp);
    bool ok = full_pwrite(fd, header.data(), header.size(), 0) &&
              ::ftruncate(fd, off_t(file_bytes(archives, columns))) == 0;
    Status written = ok ? Status::ok() : io_error("write " + tmp);
    ::close(fd);
    if (written && ::rename(tmp.c_str(), path.c_str()) != 0) written = io_error("rename " + tmp);
    if (!written) ::unlink(tmp.c_str());
    return written;
}

Result<std::unique_ptr<HistoryFile>> HistoryFile::open(const std::filesystem::path& path,
                                                       bool writable) {
    int fd = ::open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) {
        const bool absent = errno == ENOENT;
        Status s = io_error("open " + path.string());
        return absent ? Status::error(Code::not_found, s.message()) : s;
    }
    std::unique_ptr<HistoryFile> file(new HistoryFile());
    file->fd_ = fd;
    file->path_ = path;
    unsigned char fixed[24];
    if (full_pread(fd, fixed, sizeof fixed, 0) != ssize_t(sizeof fixed) ||
        std::memcmp(fixed, kMagic, sizeof kMagic) != 0)
        return malformed(path, "not a history file");
    std::uint32_t header_bytes = 0, archive_count = 0, column_count = 0;
    std::memcpy(&header_bytes, fixed + 8, 4);
    std::memcpy(&archive_count, fixed + 12, 4);
    std::memcpy(&column_count, fixed + 16, 4);
    if (header_bytes > (16u << 20) || header_bytes < sizeof fixed ||
        archive_count > kMaxHistoryArchives || column_count > kMaxHistoryFileColumns)
        return malformed(path, "header out of bounds");
    std::vector<unsigned char> header(header_bytes);
    if (full_pread(fd, header.data(), header.size(), 0) != ssize_t(header.size()))
        return malformed(path, "short header");
    Reader r(header.data() + sizeof fixed, header.size() - sizeof fixed);
    for (std::uint32_t i = 0; i < archive_count; ++i) {
        ArchiveSpec a;
        if (!r.u32(a.step_seconds) || !r.u32(a.rows)) return malformed(path, "short archives");
        file->archives_.push_back(a);
    }
    for (std::uint32_t i = 0; i < column_count; ++i) {
        Series s;
        std::uint8_t kind = 0, labels = 0;
        if (!r.u8(kind) || !r.u8(labels) || kind > 1 || labels > kMaxHistoryLabels + 1 ||
            !r.str(s.metric))
            return malformed(path, "bad series");
        s.kind = SeriesKind(kind);
        for (std::uint8_t l = 0; l < labels; ++l) {
            std::string k, v;
            if (!r.str(k) || !r.str(v)) return malformed(path, "bad label");
            s.labels.emplace_back(std::move(k), std::move(v));
        }
        file->columns_.push_back(std::move(s));
    }
    if (Status s = check_bounds(file->archives_, file->columns_); !s)
        return malformed(path, s.message());
    file->column_count_ = file->columns_.size();
    file->header_bytes_ = header_bytes;
    file->lay_out();
    struct stat st {};
    if (::fstat(fd, &st) != 0 ||
        std::uint64_t(st.st_size) != file->header_bytes_ + file->data_bytes())
        return malformed(path, "its size is not what its header says");
    return file;
}

Result<std::unique_ptr<HistoryFile>> HistoryFile::create_open(
    const std::filesystem::path& path, const std::vector<ArchiveSpec>& archives,
    const std::vector<Series>& columns) {
    if (Status s = check_bounds(archives, columns); !s) return s;
    const auto header = encode_header(archives, columns);
    if (header.size() > (16u << 20))
        return Status::error(Code::invalid_argument, "a history header over 16 MiB");
    const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
    int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
    if (fd >= 0) {
        std::unique_ptr<HistoryFile> file(new HistoryFile());
        file->fd_ = fd;  // closed with file on every return
        file->path_ = path;
        file->archives_ = archives;
        file->columns_ = columns;
        file->column_count_ = columns.size();
        file->header_bytes_ = std::uint32_t(header.size());
        file->lay_out();
        if (!full_pwrite(fd, header.data(), header.size(), 0) ||
            ::ftruncate(fd, off_t(file->header_bytes_ + file->data_bytes())) != 0)
            return io_error("write " + path.string());
        // linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; the /proc link does not.
        const std::string self = "/proc/self/fd/" + std::to_string(fd);
        if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) == 0)
            return file;
    }
    if (Status s = create(path, archives, columns); !s) return s;
    return open(path, true);
}

void HistoryFile::lay_out() {
    archive_offsets_.clear();
    std::uint64_t offset = header_bytes_;
    for (const ArchiveSpec& a : archives_) {
        archive_offsets_.push_back(offset);
        offset += std::uint64_t(a.rows) * row_bytes();
    }
}

HistoryFile::~HistoryFile() {
    close_descriptor();
}

void HistoryFile::close_descriptor() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    columns_ = std::vector<Series>();
}

Status HistoryFile::reopen(bool writable) {
    close_descriptor();
    int fd = ::open(path_.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) {
        const bool absent = errno == ENOENT;
        Status s = io_error("open " + path_.string());
        return absent ? Status::error(Code::not_found, s.message()) : s;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || std::uint64_t(st.st_size) != header_bytes_ + data_bytes()) {
        ::close(fd);
        return malformed(path_, "its size is not what its header says");
    }
    fd_ = fd;
    return Status::ok();
}

std::uint64_t HistoryFile::row_offset(std::size_t archive, std::int64_t bucket) const {
    const std::uint64_t index = std::uint64_t(bucket) % archives_[archive].rows;
    return archive_offsets_[archive] + index * row_bytes();
}

HistoryRow HistoryFile::decode_row(const unsigned char* p) const {
    HistoryRow row;
    std::uint32_t bucket = 0;
    std::memcpy(&bucket, p, 4);
    std::memcpy(&row.reports, p + 4, 4);
    row.bucket = bucket;
    row.values.resize(column_count_);
    std::memcpy(row.values.data(), p + 8, 4 * column_count_);
    return row;
}

Result<HistoryRow> HistoryFile::read_row(std::size_t archive, std::int64_t bucket) const {
    if (archive >= archives_.size() || bucket <= 0 || bucket > UINT32_MAX)
        return Status::error(Code::invalid_argument, "no such archive or bucket");
    std::vector<unsigned char> buf(row_bytes());
    if (full_pread(fd_, buf.data(), buf.size(), row_offset(archive, bucket)) != ssize_t(buf.size()))
        return io_error("read " + path_.string());
    HistoryRow row = decode_row(buf.data());
    if (row.bucket != bucket) return HistoryRow{};
    return row;
}

Status HistoryFile::write_row(std::size_t archive, const HistoryRow& row) {
    if (archive >= archives_.size() || row.bucket <= 0 || row.bucket > UINT32_MAX ||
        row.values.size() != column_count_)
        return Status::error(Code::invalid_argument, "no such archive, bucket or columns");
    buffer_.resize(row_bytes());
    unsigned char* buf = buffer_.data();
    const std::uint32_t bucket = std::uint32_t(row.bucket);
    std::memcpy(buf, &bucket, 4);
    std::memcpy(buf + 4, &row.reports, 4);
    std::memcpy(buf + 8, row.values.data(), 4 * column_count_);
    if (!full_pwrite(fd_, buf, row_bytes(), row_offset(archive, row.bucket)))
        return io_error("write " + path_.string());
    return Status::ok();
}

Result<std::vector<HistoryRow>> HistoryFile::read_rows(std::size_t archive, std::int64_t first,
                                                       std::int64_t last) const {
    if (archive >= archives_.size()) return Status::error(Code::invalid_argument, "no archive");
    const std::int64_t rows = archives_[archive].rows;
    first = std::max<std::int64_t>({first, last - rows + 1, 1});
    std::vector<HistoryRow> out;
    if (last < first) return out;
    // At most two reads (the span may wrap around the end of the archive).
    const std::size_t count = std::size_t(last - first + 1);
    const std::size_t start = std::size_t(first % rows);
    std::vector<unsigned char> span(count * row_bytes());
    const std::size_t head = std::min<std::size_t>(count, std::size_t(rows) - start);
    const std::uint64_t origin = archive_offsets_[archive];
    if (full_pread(fd_, span.data(), head * row_bytes(), origin + start * row_bytes()) !=
            ssize_t(head * row_bytes()) ||
        (count > head &&
         full_pread(fd_, span.data() + head * row_bytes(), (count - head) * row_bytes(), origin) !=
             ssize_t((count - head) * row_bytes())))
        return io_error("read " + path_.string());
    for (std::size_t i = 0; i < count; ++i) {
        HistoryRow row = decode_row(span.data() + i * row_bytes());
        if (row.bucket == first + std::int64_t(i)) out.push_back(std::move(row));
    }
    return out;
}

}  // namespace provisioner::server
