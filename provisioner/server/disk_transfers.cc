#include "disk_transfers.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <system_error>

namespace provisioner::server {

namespace fs = std::filesystem;

namespace {

// The file's bytes reach the disk before the row that says they are complete.
bool sync_file(const fs::path& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool ok = ::fsync(fd) == 0;
    ::close(fd);
    return ok;
}

}  // namespace

// The row goes first: a file without a row is deleted at the next start, a row without a file
// is dropped there too.
void DiskTransfers::discard_locked(const std::string& id) {
    held_.erase(id);
    (void)store_.remove_disk_transfer(id);
    std::error_code ec;
    fs::remove(path_of(id), ec);
}

Status DiskTransfers::append(const std::string& id, std::uint64_t offset, std::string_view bytes) {
    const std::string what = "disk transfer " + id;
    if (bytes.size() > kMaxChunk)
        return Status::error(Code::invalid_argument, what + ": a chunk holds at most " +
                                                         std::to_string(kMaxChunk) + " bytes");
    std::lock_guard lock(mu_);
    if (offset == 0) {
        discard_locked(id);
        if (Status s = store_.put_disk_transfer({id, 0, "", false, store_.now()}); !s)
            return s.context(what);
    }
    auto it = held_.find(id);
    const std::uint64_t held = it == held_.end() ? 0 : it->second.info.size;
    if (it != held_.end() && it->second.info.complete)
        return Status::error(Code::illegal_transition, what + " is complete");
    if (offset != held)
        return Status::error(Code::invalid_argument, what + ": offset " + std::to_string(offset) +
                                                         ", but " + std::to_string(held) +
                                                         " bytes are held");
    std::error_code ec;
    fs::create_directories(dir_, ec);
    std::ofstream out(path_of(id), std::ios::binary | std::ios::app);
    out.write(bytes.data(), std::streamsize(bytes.size()));
    out.close();
    if (!out) {
        discard_locked(id);
        return Status::error(Code::storage, what + ": writing " + path_of(id).string());
    }
    Held& h = held_[id];
    h.hash.update({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
    h.info.size += bytes.size();
    return Status::ok();
}

Status DiskTransfers::complete(const std::string& id, std::uint64_t size,
                               const std::string& sha256) {
    std::lock_guard lock(mu_);
    const std::string what = "disk transfer " + id;
    auto it = held_.find(id);
    if (it == held_.end()) {
        if (size != 0) return Status::error(Code::not_found, what + " was never started");
        std::error_code ec;
        fs::create_directories(dir_, ec);
        it = held_.emplace(id, Held{}).first;  // an empty disk: no chunk was sent
        std::ofstream(path_of(id), std::ios::binary | std::ios::trunc);
    }
    Held& h = it->second;
    if (h.info.complete)
        return h.info.sha256 == sha256 && h.info.size == size
                   ? Status::ok()
                   : Status::error(Code::illegal_transition, what + " is complete");
    const std::string got = imaging::to_hex(h.hash.finish());
    if (h.info.size != size || got != sha256) {
        const std::string held = std::to_string(h.info.size);
        discard_locked(id);
        return Status::error(Code::invalid_argument,
                             what + ": " + held + " bytes with SHA-256 " + got + " arrived, not " +
                                 std::to_string(size) + " with " + sha256 + "; send it again");
    }
    if (!sync_file(path_of(id)))
        return Status::error(Code::storage, what + ": syncing " + path_of(id).string());
    if (Status s = store_.put_disk_transfer({id, size, got, true, store_.now()}); !s)
        return s.context(what);
    h.info.sha256 = got;
    h.info.complete = true;
    return Status::ok();
}

Result<DiskTransfers::Info> DiskTransfers::info(const std::string& id) const {
    std::lock_guard lock(mu_);
    auto it = held_.find(id);
    if (it == held_.end()) return Status::error(Code::not_found, "no disk transfer " + id);
    return it->second.info;
}

Result<std::string> DiskTransfers::read(const std::string& id, std::uint64_t offset,
                                        std::size_t length) const {
    std::lock_guard lock(mu_);
    auto it = held_.find(id);
    if (it == held_.end()) return Status::error(Code::not_found, "no disk transfer " + id);
    if (!it->second.info.complete)
        return Status::error(Code::illegal_transition, "disk transfer " + id + " is not complete");
    if (offset >= it->second.info.size) return std::string();
    const std::uint64_t left = it->second.info.size - offset;
    length = std::size_t(std::min<std::uint64_t>(std::min<std::uint64_t>(length, kMaxChunk), left));
    std::ifstream in(path_of(id), std::ios::binary);
    std::string bytes(length, '\0');
    in.seekg(std::streamoff(offset));
    if (!in.read(bytes.data(), std::streamsize(length)))
        return Status::error(Code::storage, "reading " + path_of(id).string());
    return bytes;
}

void DiskTransfers::remove(const std::string& id) {
    std::lock_guard lock(mu_);
    discard_locked(id);
}

std::vector<std::string> DiskTransfers::ids() const {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& [id, h] : held_) out.push_back(id);
    return out;
}

Status DiskTransfers::load() {
    auto rows = store_.list_disk_transfers();
    if (!rows) return rows.status().context("reading the disk transfers");
    std::lock_guard lock(mu_);
    held_.clear();
    for (const DiskTransferRow& row : *rows) {
        std::error_code ec;
        const auto size = fs::file_size(path_of(row.id), ec);
        if (ec || (row.complete && size != row.size)) {
            discard_locked(row.id);
            continue;
        }
        Held h;
        h.info.size = size;
        h.info.complete = row.complete;
        h.info.sha256 = row.sha256;
        if (!row.complete) {  // the hash of what arrived, to go on from there
            std::ifstream in(path_of(row.id), std::ios::binary);
            std::string chunk(1 << 20, '\0');
            std::uint64_t read = 0;
            while (in && read < size) {
                in.read(chunk.data(), std::streamsize(chunk.size()));
                const auto n = std::size_t(in.gcount());
                h.hash.update({reinterpret_cast<const std::uint8_t*>(chunk.data()), n});
                read += n;
            }
            if (read != size) {
                discard_locked(row.id);
                continue;
            }
        }
        held_.emplace(row.id, std::move(h));
    }
    std::error_code ec;
    for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
        const fs::path& p = it->path();
        if (p.extension() != ".disk" || held_.contains(p.stem().string())) continue;
        std::error_code removed;
        fs::remove(p, removed);
    }
    return Status::ok();
}

}  // namespace provisioner::server
