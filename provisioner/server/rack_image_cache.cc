#include "rack_image_cache.h"

#include <algorithm>
#include <system_error>

#include "imaging/manifest.h"
#include "imaging/packed_image.h"

namespace provisioner::server {

namespace fs = std::filesystem;

namespace {

std::string label(const RackImageCache::Copy& c) { return c.name + "@" + c.version; }

}  // namespace

RackImageCache::RackImageCache(Options options, base::Clock& clock, imaging::VerifyKey key)
    : options_(std::move(options)), clock_(clock), key_(std::move(key)) {}

Result<std::unique_ptr<RackImageCache>> RackImageCache::open(Options options, base::Clock& clock) {
    auto key = imaging::VerifyKey::load(options.pubkey);
    if (!key) return key.status().context("the image cache's key");
    std::error_code ec;
    fs::create_directories(options.dir, ec);
    if (ec)
        return Status::error(Code::storage,
                             "creating the image cache " + options.dir.string() + ": " + ec.message());
    imaging::delta::remove_partial(options.dir);
    std::unique_ptr<RackImageCache> cache(new RackImageCache(options, clock, *key));
    // The copies as the directory holds them, least recently written first.
    std::vector<std::pair<fs::file_time_type, fs::path>> dirs;
    for (const auto& entry : fs::directory_iterator(options.dir, ec))
        if (entry.is_directory()) dirs.emplace_back(entry.last_write_time(ec), entry.path());
    std::sort(dirs.begin(), dirs.end());
    auto now = clock.now();
    for (std::size_t k = 0; k < dirs.size(); ++k) {
        const fs::path& dir = dirs[k].second;
        auto image = imaging::PackedImage::open(dir, *key);
        if (!image) {  // not ours, or damaged: never served
            fs::remove_all(dir, ec);
            continue;
        }
        const imaging::Manifest& m = (*image)->manifest();
        Copy c;
        c.image = std::strtoll(dir.filename().c_str(), nullptr, 10);
        c.name = m.name;
        c.version = m.version;
        c.image_sha256 = imaging::to_hex(m.image_sha256);
        c.dir = dir;
        c.stored_bytes = m.pack_size;
        c.used = now - std::chrono::milliseconds(dirs.size() - k);
        cache->copies_[c.image_sha256] = std::move(c);
    }
    return cache;
}

fs::path RackImageCache::dir_for(const Image& image) const {
    return options_.dir / (std::to_string(image.id) + "-" + image.image_sha256.substr(0, 16));
}

std::optional<fs::path> RackImageCache::path_of(const Image& image) {
    std::lock_guard lock(mu_);
    auto it = copies_.find(image.image_sha256);
    if (it == copies_.end()) return std::nullopt;
    it->second.used = clock_.now();
    return it->second.dir;
}

bool RackImageCache::has(const Image& image) const {
    std::lock_guard lock(mu_);
    return copies_.contains(image.image_sha256);
}

std::vector<RackImageCache::Copy> RackImageCache::copies() const {
    std::lock_guard lock(mu_);
    std::vector<Copy> out;
    for (const auto& [_, c] : copies_) out.push_back(c);
    return out;
}

std::uint64_t RackImageCache::stored_bytes() const {
    std::lock_guard lock(mu_);
    std::uint64_t n = 0;
    for (const auto& [_, c] : copies_) n += c.stored_bytes;
    return n;
}

Result<std::vector<std::string>> RackImageCache::make_room(std::uint64_t bytes, const Image& image,
                                                           const std::set<std::string>& needed) {
    std::vector<Copy> victims;
    {
        std::lock_guard lock(mu_);
        std::uint64_t held = 0, kept = 0;
        std::vector<const Copy*> evictable;
        for (const auto& [sha, c] : copies_) {
            held += c.stored_bytes;
            if (needed.contains(sha)) kept += c.stored_bytes;
            else evictable.push_back(&c);
        }
        if (held + bytes <= options_.max_bytes) return std::vector<std::string>{};
        if (kept + bytes > options_.max_bytes)
            return Status::error(
                Code::storage,
                "the image cache cannot hold " + image.name + "@" + image.version + " (" +
                    std::to_string(bytes) + " bytes): its limit is " +
                    std::to_string(options_.max_bytes) + " bytes and running deployments need " +
                    std::to_string(kept) + " of them");
        // Least recently used first; an older version of this image (the fetch's basis) last.
        std::sort(evictable.begin(), evictable.end(), [&](const Copy* a, const Copy* b) {
            const bool a_basis = a->name == image.name, b_basis = b->name == image.name;
            if (a_basis != b_basis) return b_basis;
            return a->used < b->used;
        });
        for (const Copy* c : evictable) {
            if (held + bytes <= options_.max_bytes) break;
            held -= c->stored_bytes;
            victims.push_back(*c);
        }
        for (const Copy& c : victims) copies_.erase(c.image_sha256);
    }
    std::vector<std::string> names;
    for (const Copy& c : victims) {
        std::error_code ec;
        fs::remove_all(c.dir, ec);
        names.push_back(label(c));
    }
    return names;
}

Result<RackImageCache::Fetched> RackImageCache::fetch(const Image& image, const PeerSource& from,
                                                      const std::set<std::string>& needed) {
    Fetched out;
    if (auto held = path_of(image)) {
        std::lock_guard lock(mu_);
        out.copy = copies_.at(image.image_sha256);
        return out;
    }
    auto evicted = make_room(image.stored_size, image, needed);
    if (!evicted) return evicted.status();
    out.evicted = std::move(*evicted);

    imaging::delta::PackReceiveOptions o;
    o.server = from.address;
    o.dest = dir_for(image);
    o.expect.image_sha256 = image.image_sha256;
    o.expect.name = image.name;
    o.expect.version = image.version;
    o.timeout = options_.timeout;
    o.secret = from.key;
    o.receiver_id = from.receiver_id;
    {
        // Older versions of the image, most recently used first: their unchanged chunks stay.
        std::lock_guard lock(mu_);
        std::vector<const Copy*> older;
        for (const auto& [_, c] : copies_)
            if (c.name == image.name) older.push_back(&c);
        std::sort(older.begin(), older.end(),
                  [](const Copy* a, const Copy* b) { return a->used > b->used; });
        for (const Copy* c : older) o.bases.push_back(c->dir);
        if (!older.empty()) out.basis = label(*older.front());
    }
    std::error_code ec;
    fs::remove_all(o.dest, ec);  // a copy that did not verify at open() is gone already
    auto got = imaging::delta::receive_pack(o, key_, nullptr);
    if (!got)
        return got.status().context("fetching " + image.name + "@" + image.version + " from " +
                                    from.server + " (" + from.address + ")");
    if (got->chunks_reused == 0) out.basis.clear();
    out.report = std::move(*got);
    out.copy.image = image.id;
    out.copy.name = image.name;
    out.copy.version = image.version;
    out.copy.image_sha256 = image.image_sha256;
    out.copy.dir = o.dest;
    out.copy.stored_bytes = out.report.manifest.pack_size;
    out.copy.used = clock_.now();
    std::lock_guard lock(mu_);
    copies_[image.image_sha256] = out.copy;
    return out;
}

}  // namespace provisioner::server
