// A rack server's own copies of the images its rack's deployments need (issue 20, item 4),
// fetched from a peer server by delta into pack directories (imaging/delta/pack_receiver.h),
// so that it serves them from its own disk: its delta server of an image it takes over reads
// the copy, not a path on another server's disk.
//
// On disk: DIR/ID-SHA16 per image (manifest.json and chunks.pack: the image itself, signed by
// the site key). A copy is listed only once whole: a fetch builds it under a temporary name and
// renames it into place; temporaries of a killed fetch are swept at open(). At open() every
// copy's manifest is checked against the site key; one that does not verify is removed.
//
// Bounds: the copies' stored bytes stay under max_bytes. To make room for a fetch, copies no
// running deployment needs go first, least recently used first, an older version of the image
// being fetched last (it is the fetch's basis: only the chunks that changed move); when that
// is not enough, the fetch is refused with what it needed and nothing is removed. A full disk
// fails the fetch (pack_receiver: one clear error) and every copy stays as it was.
//
// Thread-safe: fetch() runs on one thread (the rack image thread); path_of() and the rest
// from any, including under the Orchestrator's lock (memory only, never blocks on I/O).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "pack_receiver.h"
#include "peer_source.h"
#include "imaging/secret.h"
#include "imaging/signing.h"
#include "provisioner/records.h"

namespace provisioner::server {

class RackImageCache {
  public:
    struct Options {
        std::filesystem::path dir;
        std::uint64_t max_bytes = 0;
        std::filesystem::path pubkey;  // the site key images are signed with
        std::chrono::seconds timeout{30};
    };
    struct Copy {
        ImageId image = 0;
        std::string name, version, image_sha256;
        std::filesystem::path dir;
        std::uint64_t stored_bytes = 0;
        base::Clock::time_point used{};
    };
    struct Fetched {
        Copy copy;
        imaging::delta::PackReceiveReport report;
        std::string basis;                // "name@version" the unchanged chunks came from, or ""
        std::vector<std::string> evicted;  // "name@version" of each copy removed for room
    };

    // Creates dir, sweeps temporaries, lists the copies that verify (removing the others).
    static Result<std::unique_ptr<RackImageCache>> open(Options options, base::Clock& clock);

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
    // Removes copies until `bytes` more fit (see above); the names removed, or why not.
    Result<std::vector<std::string>> make_room(std::uint64_t bytes, const Image& image,
                                               const std::set<std::string>& needed);

    const Options options_;
    base::Clock& clock_;
    const imaging::VerifyKey key_;
    mutable std::mutex mu_;  // guards copies_; never held across I/O
    std::map<std::string, Copy> copies_;  // by image_sha256
};

}  // namespace provisioner::server
