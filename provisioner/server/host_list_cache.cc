#include "host_list_cache.h"

namespace provisioner::server {

std::shared_ptr<const std::string> HostListCache::find(std::string_view target,
                                                       std::uint64_t version) {
    std::lock_guard lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (it->target != target) continue;
        if (it->version != version) return nullptr;
        entries_.splice(entries_.begin(), entries_, it);
        return it->body;
    }
    return nullptr;
}

void HostListCache::put(std::string_view target, std::uint64_t version, std::string body) {
    if (body.size() > kMaxBody) return;
    auto kept = std::make_shared<const std::string>(std::move(body));
    std::lock_guard lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (it->target == target) {
            entries_.erase(it);
            break;
        }
    }
    entries_.push_front(Entry{std::string(target), version, std::move(kept)});
    if (entries_.size() > kEntries) entries_.pop_back();
}

}  // namespace provisioner::server
