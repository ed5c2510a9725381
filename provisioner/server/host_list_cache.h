// The last answers of GET /api/v1/hosts, each kept with the store's data_version() it was
// built at and served only while the store still answers that version: a UI or a script that
// polls the same page gets the bytes it would get from the store, without the store's reads
// and the JSON being made again while nothing changed.
//
// Thread-safe. Bounded: at most kEntries answers, none over kMaxBody bytes; the least
// recently used goes first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace provisioner::server {

class HostListCache {
  public:
    static constexpr std::size_t kEntries = 16;
    static constexpr std::size_t kMaxBody = 4 << 20;

    // The answer to target (path and query, as sent) built at version; nullptr when there is
    // none, or only one of another version.
    std::shared_ptr<const std::string> find(std::string_view target, std::uint64_t version);
    // Keeps body as the answer to target at version (replacing an older one).
    void put(std::string_view target, std::uint64_t version, std::string body);

  private:
    struct Entry {
        std::string target;
        std::uint64_t version;
        std::shared_ptr<const std::string> body;
    };
    std::mutex mu_;
    std::list<Entry> entries_;  // most recently used first
};

}  // namespace provisioner::server
