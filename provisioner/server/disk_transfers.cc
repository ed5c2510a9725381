#include "disk_transfers.h"

#include <algorithm>
#include <fstream>
#include <system_error>

namespace provisioner::server {

namespace fs = std::filesystem;

void DiskTransfers::discard_locked(const std::string& id) {
    held_.erase(id);
    std::error_code ec;
    fs::remove(path_of(id), ec);
}

Status DiskTransfers::append(const std::string& id, std::uint64_t offset, std::string_view bytes) {
    const std::string what = "disk transfer " + id;
    if (bytes.size() > kMaxChunk)
        return Status::error(Code::invalid_argument, what + ": a chunk holds at most " +
                                                         std::to_string(kMaxChunk) + " bytes");
    std::lock_guard lock(mu_);
    if (offset == 0) discard_locked(id);
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

}  // namespace provisioner::server
