// A rack server's own copies of the images its rack's deployments need (issue 20, item 4),
// fetched from a peer server by delta into pack directories (imaging/delta/pack_receiver.h),
// so that it serves them from its own disk: its delta server of an image it takes over reads
// the copy, not a path on another server's disk.
//
// On disk: DIR/ID-SHA16 per image (manifest.json and chunks.pack: the image itself, signed by
// the site key). A copy is listed only once whole: a fetch builds it under a temporary name and
// renames it into place; temporaries of a killed fetch are swept at open(). At open() every
// copy's manifest is checked against the site key; one that does not verify is removed. The
// chunks of a copy found at open() are checked afterwards, off the server's start: such a copy
// is held (never fetched again) but neither served nor said to be held (has(), path_of())
// until check_all() (on start_checking()'s thread) has read every chunk back and found it to
// match its manifest, or a fetch() of that image has checked it first. One that does not
// match is removed, with a line saying which chunk, so that the next fetch brings it afresh.
//
// Bounds: the copies' stored bytes stay under max_bytes. To make room for a fetch, copies no
// running deployment needs go first, least recently used first, an older version of the image
// being fetched last (it is the fetch's basis: only the chunks that changed move); when that
// is not enough, the fetch is refused with what it needed and nothing is removed. A full disk
// fails the fetch (pack_receiver: one clear error) and every copy stays as it was.
//
// Thread-safe: fetch() runs on one thread (the rack image thread), check_all() on another;
// path_of() and the rest from any, including under the Orchestrator's lock (memory only,
// never blocks on I/O).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "imaging/secret.h"
#include "imaging/signing.h"
#include "pack_receiver.h"
#include "peer_source.h"
#include "provisioner/records.h"

namespace provisioner::server {

class RackImageCache {
  public:
    struct Options {
        std::filesystem::path dir;
        std::uint64_t max_bytes = 0;
        std::filesystem::path pubkey;  // the site key images are signed with
        std::chrono::seconds timeout{30};
        // What its log lines and errors call it (a rack server's template cache is one too).
        std::string name = "rack image cache";
    };
    struct Copy {
        ImageId image = 0;
        std::string name, version, image_sha256;
        std::filesystem::path dir;
        std::uint64_t stored_bytes = 0;
        base::Clock::time_point used{};
        bool checked = true;  // false: found at open(), its chunks not checked yet
    };
    struct Fetched {
        Copy copy;
        imaging::delta::PackReceiveReport report;
        std::string basis;                 // "name@version" the unchanged chunks came from, or ""
        std::vector<std::string> evicted;  // "name@version" of each copy removed for room
    };

    // One line about a copy's check; dropped: the copy did not match and is removed (an
    // operator's event), else it matched.
    using CheckReport = std::function<void(const std::string& line, bool dropped)>;

    // Creates dir, sweeps temporaries, lists the copies whose manifest verifies (removing the
    // others); their chunks are not read yet.
    static Result<std::unique_ptr<RackImageCache>> open(Options options, base::Clock& clock);
    // Stops and joins start_checking()'s thread.
    ~RackImageCache();

    // Starts a thread that runs check_all() once and ends; report is called on it (or on
    // fetch()'s thread, for a copy fetch() checks). At most once.
    void start_checking(CheckReport report);
    // Checks the chunks of every copy not checked yet, the most recently used first; the
    // number checked. Stops early (leaving the rest unchecked) once the destructor has begun.
    std::size_t check_all();

    // The directory of a verified copy of exactly this image (its raw sha256), if held; marks it
    // used.
    std::optional<std::filesystem::path> path_of(const Image& image);
    bool has(const Image& image) const;
    // Brings a copy of image from `from` (nothing when held already). needed: the image_sha256
    // of images running deployments need, which are never evicted.
    Result<Fetched> fetch(const Image& image, const PeerSource& from,
                          const std::set<std::string>& needed);
    std::vector<Copy> copies() const;
    std::uint64_t stored_bytes() const;

  private:
    RackImageCache(Options options, base::Clock& clock, imaging::VerifyKey key);
    std::filesystem::path dir_for(const Image& image) const;
    // Checks the copy of image_sha256 unless it is checked already; waits first for another
    // thread's check of it. Marks it checked, or removes it.
    void check_copy(const std::string& image_sha256);
    // Removes copies until `bytes` more fit (see above); the names removed, or why not.
    Result<std::vector<std::string>> make_room(std::uint64_t bytes, const Image& image,
                                               const std::set<std::string>& needed);

    const Options options_;
    base::Clock& clock_;
    const imaging::VerifyKey key_;
    mutable std::mutex mu_;               // guards copies_; never held across I/O
    std::map<std::string, Copy> copies_;  // by image_sha256
    std::set<std::string> checking_;      // copies whose chunks a thread is reading now
    std::condition_variable checked_;     // a check ended
    CheckReport report_;
    std::atomic<bool> stopping_{false};
    std::thread checker_;
};

// What a fetch brought, as a log line and event: "CACHE: WHAT fetched from SERVER (ADDRESS) by
// delta: F of S chunks, B bytes, in T s", then the chunks kept from a basis and the copies
// evicted for room.
std::string describe_fetch(const std::string& cache, const std::string& what,
                           const PeerSource& from, const RackImageCache::Fetched& got);

}  // namespace provisioner::server
