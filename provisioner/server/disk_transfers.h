// The disks of VMs on a cold move (provisioner/API.md, "Moving a VM"), held by provisionerd
// between the source host's upload and the destination's download: one file per transfer
// under DIR, written in order at the offset the uploader names and hashed on the way, checked
// against the size and SHA-256 the uploader states when it is done, read back in chunks, and
// deleted when the move ends.
//
// Through the server because every host already talks to it and the router's bodies are
// in-memory strings, so the disk goes in chunks of a few MiB. For big disks the imaging delta
// transport straight between the two hosts would be better: no second copy on the server, and
// only what the destination lacks is sent (it holds the template the overlay is backed by).
//
// Durable: each transfer has a row in the store (server_state.h DiskTransferRow), written when
// it starts and when it completes (after the file is synced), removed with it. An incomplete
// transfer's size is its file's, so a kill -9 loses no chunk that was answered; load() reads the
// rows back at start, hashing incomplete files again, and deletes files that have no row.
//
// Thread-safe: one mutex; a chunk's file I/O and the row writes happen under it (chunks are
// bounded by kMaxChunk, and transfers are few).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "imaging/digest.h"
#include "provisioner/status.h"
#include "provisioner/store.h"

namespace provisioner::server {

class DiskTransfers {
  public:
    static constexpr std::size_t kMaxChunk = 8 << 20;

    // Files go to dir (made when the first transfer starts). store outlives this.
    DiskTransfers(Store& store, std::filesystem::path dir)
        : store_(store), dir_(std::move(dir)) {}

    // Reads the store's transfers back (call once at start): a complete one whose file is gone
    // or has another size is dropped, an incomplete one holds what its file holds; files under
    // dir without a row are deleted. storage when the store cannot be read.
    Status load();
    // The transfers held, by id.
    std::vector<std::string> ids() const;

    struct Info {
        std::uint64_t size = 0;  // bytes held
        std::string sha256;      // hex, once complete
        bool complete = false;
    };

    // Appends bytes at offset, which must be the size held so far (offset 0 starts the
    // transfer again). invalid_argument for another offset (the message names the size held,
    // so a sender can resume) or a chunk over kMaxChunk; illegal_transition once complete.
    Status append(const std::string& id, std::uint64_t offset, std::string_view bytes);
    // Marks the transfer complete when it holds size bytes with that SHA-256 (hex); otherwise
    // invalid_argument, and what was held is discarded.
    Status complete(const std::string& id, std::uint64_t size, const std::string& sha256);
    // not_found for a transfer never started (or removed).
    Result<Info> info(const std::string& id) const;
    // Up to length bytes from offset of a complete transfer; illegal_transition before then.
    Result<std::string> read(const std::string& id, std::uint64_t offset, std::size_t length) const;
    // Forgets the transfer and deletes its file (nothing when there is none).
    void remove(const std::string& id);

  private:
    struct Held {
        Info info;
        imaging::Sha256Stream hash;  // of the bytes so far, until complete
    };
    std::filesystem::path path_of(const std::string& id) const { return dir_ / (id + ".disk"); }
    void discard_locked(const std::string& id);

    Store& store_;
    const std::filesystem::path dir_;
    mutable std::mutex mu_;
    std::map<std::string, Held> held_;
};

}  // namespace provisioner::server
