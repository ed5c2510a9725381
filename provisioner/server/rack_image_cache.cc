#include "rack_image_cache.h"

#include <algorithm>
#include <cstdio>
#include <system_error>

#include "imaging/manifest.h"
#include "imaging/packed_image.h"

namespace provisioner::server {

namespace fs = std::filesystem;

namespace {

std::string label(const RackImageCache::Copy& c) {
    return c.name + "@" + c.version;
}

struct ChunkCheck {
    Status status;             // ok: every chunk matched
    std::uint64_t chunks = 0;  // non-zero chunks read
    bool stopped = false;      // given up on stop: no verdict
};

// Reads every non-zero chunk of the copy at dir back, decompresses it and hashes it against
// its manifest (whose signature is checked again).
ChunkCheck check_chunks(const fs::path& dir, const imaging::VerifyKey& key,
                        const std::atomic<bool>& stop) {
    ChunkCheck out;
    auto image = imaging::PackedImage::open(dir, key);
    if (!image) {
        out.status = image.status();
        return out;
    }
    const imaging::Manifest& m = (*image)->manifest();
    std::error_code ec;
    const std::uint64_t size = fs::file_size(dir / "chunks.pack", ec);
    if (ec) {
        out.status = Status::error("chunks.pack: " + ec.message());
        return out;
    }
    if (size != m.pack_size) {
        out.status = Status::error("chunks.pack holds " + std::to_string(size) +
                                   " bytes, its manifest says " + std::to_string(m.pack_size));
        return out;
    }
    std::vector<std::uint8_t> raw;
    for (std::size_t i = 0; i < m.chunks.size(); ++i) {
        if (m.chunks[i].is_zero()) continue;
        if (stop) {
            out.stopped = true;
            return out;
        }
        raw.resize(m.chunk_length(i));
        if (Status s = (*image)->read_chunk(i, raw); !s) {
            out.status = s;
            return out;
        }
        ++out.chunks;
    }
    return out;
}

}  // namespace

RackImageCache::RackImageCache(Options options, base::Clock& clock, imaging::VerifyKey key)
    : options_(std::move(options)), clock_(clock), key_(std::move(key)) {}

RackImageCache::~RackImageCache() {
    stopping_ = true;
    if (checker_.joinable()) checker_.join();
}

void RackImageCache::start_checking(CheckReport report) {
    report_ = std::move(report);
    checker_ = std::thread([this] { check_all(); });
}

std::size_t RackImageCache::check_all() {
    std::size_t checked = 0;
    while (!stopping_) {
        std::string next;
        {
            std::lock_guard lock(mu_);
            const Copy* newest = nullptr;
            for (const auto& [sha, c] : copies_)
                if (!c.checked && !checking_.contains(sha) && (!newest || c.used > newest->used))
                    newest = &c;
            if (!newest) break;
            next = newest->image_sha256;
        }
        check_copy(next);
        ++checked;
    }
    return checked;
}

void RackImageCache::check_copy(const std::string& image_sha256) {
    std::unique_lock lock(mu_);
    // Another thread's check first: its verdict stands (and a copy it drops is off the disk
    // before a fetch may write the same directory again).
    checked_.wait(lock, [&] { return !checking_.contains(image_sha256); });
    auto it = copies_.find(image_sha256);
    if (it == copies_.end() || it->second.checked) return;
    const Copy copy = it->second;
    checking_.insert(image_sha256);
    lock.unlock();
    const auto started = std::chrono::steady_clock::now();
    ChunkCheck check = check_chunks(copy.dir, key_, stopping_);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    lock.lock();
    auto done = [&] {
        checking_.erase(image_sha256);
        checked_.notify_all();
    };
    it = copies_.find(image_sha256);
    if (check.stopped || it == copies_.end() || it->second.dir != copy.dir) {  // evicted meanwhile
        done();
        return;
    }
    char took[32];
    std::snprintf(took, sizeof took, "%.1f", seconds);
    const bool matched = check.status.is_ok();
    if (matched)
        it->second.checked = true;
    else
        copies_.erase(it);  // never served; a fetch of it waits until the directory is gone
    lock.unlock();
    const std::string what =
        options_.name + ": the copy of " + label(copy) + " held in " + copy.dir.string();
    if (!matched) {
        std::error_code ec;
        fs::remove_all(copy.dir, ec);
    }
    if (report_)
        report_(matched ? what + " checked: its " + std::to_string(check.chunks) +
                              " chunks match its manifest (" + took + " s)"
                        : what + " does not match its manifest (" + check.status.message() +
                              "): removed; it is fetched again for the next deployment that "
                              "needs it",
                !matched);
    lock.lock();
    done();
}

Result<std::unique_ptr<RackImageCache>> RackImageCache::open(Options options, base::Clock& clock) {
    auto key = imaging::VerifyKey::load(options.pubkey);
    if (!key) return key.status().context("the image cache's key");
    std::error_code ec;
    fs::create_directories(options.dir, ec);
    if (ec)
        return Status::error(Code::storage, "creating the image cache " + options.dir.string() +
                                                ": " + ec.message());
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
        c.checked = false;  // its chunks: check_all()
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
    if (it == copies_.end() || !it->second.checked) return std::nullopt;
    it->second.used = clock_.now();
    return it->second.dir;
}

bool RackImageCache::has(const Image& image) const {
    std::lock_guard lock(mu_);
    auto it = copies_.find(image.image_sha256);
    return it != copies_.end() && it->second.checked;
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
            if (needed.contains(sha))
                kept += c.stored_bytes;
            else
                evictable.push_back(&c);
        }
        if (held + bytes <= options_.max_bytes) return std::vector<std::string>{};
        if (kept + bytes > options_.max_bytes)
            return Status::error(
                Code::storage,
                "the " + options_.name + " cannot hold " + image.name + "@" + image.version + " (" +
                    std::to_string(bytes) + " bytes): its limit is " +
                    std::to_string(options_.max_bytes) +
                    " bytes and the copies in use (running deployments, hot templates) hold " +
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
    // A copy found at open() whose chunks are not checked yet: checked now (or its check on
    // the other thread waited for); it then counts as kept whole, else it is fetched again.
    bool unchecked = false;
    {
        std::lock_guard lock(mu_);
        auto it = copies_.find(image.image_sha256);
        unchecked = it != copies_.end() && !it->second.checked;
    }
    check_copy(image.image_sha256);
    if (auto held = path_of(image)) {
        {
            std::lock_guard lock(mu_);
            out.copy = copies_.at(image.image_sha256);
        }
        if (unchecked)
            if (auto m = imaging::load_manifest(out.copy.dir, key_)) {
                out.report.manifest = *m;
                for (const auto& c : m->chunks) out.report.chunks_stored += !c.is_zero();
                out.report.chunks_reused = out.report.chunks_stored;
                out.basis = "the copy held here (its chunks checked)";
            }
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

std::string describe_fetch(const std::string& cache, const std::string& what,
                           const PeerSource& from, const RackImageCache::Fetched& got) {
    const auto& r = got.report;
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.1f", r.seconds);
    std::string line = cache + ": " + what + " fetched from " + from.server + " (" + from.address +
                       ") by delta: " + std::to_string(r.chunks_fetched) + " of " +
                       std::to_string(r.chunks_stored) + " chunks, " +
                       std::to_string(r.bytes_fetched) + " bytes, in " + seconds + " s";
    if (r.chunks_reused)
        line += "; " + std::to_string(r.chunks_reused) + " chunks kept from " + got.basis;
    for (const std::string& gone : got.evicted) line += "; evicted " + gone;
    return line;
}

}  // namespace provisioner::server
