#include "provisioner/agent/template_worker.h"

#include <set>
#include <sstream>
#include <system_error>

#include "base/atomic_file.h"

namespace provisioner::agent {
namespace {

namespace fs = std::filesystem;

constexpr auto kIdleWait = std::chrono::seconds(1);

std::string mib(std::uint64_t bytes) {
    std::ostringstream out;
    out.precision(1);
    out << std::fixed << double(bytes) / (1 << 20) << " MiB";
    return out.str();
}

}  // namespace

TemplateWorker::TemplateWorker(vmhost::TemplateStore& store, TemplateWorkerOptions options)
    : store_(store), options_(std::move(options)), key_file_(options_.tools.pubkey_file) {}

TemplateWorker::~TemplateWorker() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void TemplateWorker::start() {
    // A pre-copy cut short by the agent's end (a kill, or a stop that outlasted the service
    // manager's patience) leaves its partial file behind; nothing is in flight yet, so every
    // file there is such a leftover, and a template no longer hot would never replace it.
    std::error_code ec;
    const fs::path leftovers = store_.dir() / ".precopy";
    for (const auto& entry : fs::directory_iterator(leftovers, ec)) {
        std::error_code removed;
        if (fs::remove(entry.path(), removed); !removed)
            log("removed " + entry.path().string() + ", left by an interrupted pre-copy");
    }
    thread_ = std::thread([this] { run(); });
}

void TemplateWorker::log(const std::string& line) const {
    if (options_.log) options_.log(line);
}

void TemplateWorker::keep_received_key(const std::string& pem) {
    if (!options_.tools.pubkey_file.empty() || options_.received_key_file.empty() || pem.empty())
        return;
    std::lock_guard keys(key_mu_);
    if (pem == kept_key_pem_) return;
    const fs::path& file = options_.received_key_file;
    if (Status s = base::write_file_atomically(file, pem); !s) {
        if (s.message() != key_error_) log("keeping the server's signing key: " + s.message());
        key_error_ = s.message();
        return;
    }
    const bool first = kept_key_pem_.empty();
    kept_key_pem_ = pem;
    key_error_.clear();
    {
        std::lock_guard lock(mu_);
        key_file_ = file.string();
    }
    log(std::string(first ? "the server's signing key is kept in "
                          : "the server's signing key changed; kept in ") +
        file.string());
}

void TemplateWorker::update(HotTemplates hot) {
    keep_received_key(hot.pubkey_pem);
    {
        std::lock_guard lock(mu_);
        hot_ = std::move(hot);
        have_hot_ = true;
    }
    cv_.notify_all();
}

bool TemplateWorker::blocks_locked(const std::string& ref) const {
    if (in_flight_.empty() || ref.empty()) return false;
    std::set<std::string> seen;
    for (std::string id = ref; !id.empty() && seen.insert(id).second;) {
        if (id == in_flight_) return true;
        std::string backing;
        for (const HotTemplate& t : hot_.hot)
            if (t.id() == id) backing = t.backing;
        id = backing;
    }
    return false;
}

std::unique_lock<std::mutex> TemplateWorker::lock_store(const std::string& ref) {
    std::unique_lock store(store_mu_);
    for (;;) {
        std::unique_lock lock(mu_);
        if (!blocks_locked(ref)) return store;
        store.unlock();
        cv_.wait(lock, [&] { return !blocks_locked(ref); });
        lock.unlock();
        store.lock();
    }
}

std::vector<std::string> TemplateWorker::held() {
    std::lock_guard store(store_mu_);
    std::vector<std::string> out;
    for (const vmhost::TemplateInfo& t : store_.list()) out.push_back(t.id());
    return out;
}

bool TemplateWorker::precopy_next() {
    HotTemplate next;
    std::optional<fs::path> basis;
    fs::path output;
    PrecopyTools tools = options_.tools;
    {
        std::lock_guard store(store_mu_);
        std::lock_guard lock(mu_);
        if (key_file_.empty()) return false;
        tools.pubkey_file = key_file_;
        const auto now = clock().now();
        bool found = false;
        for (const HotTemplate& t : hot_.hot) {
            if (t.delta.empty()) continue;  // its server does not listen yet
            if (store_.resolve(t.id())) continue;
            if (!t.backing.empty() && !store_.resolve(t.backing)) continue;  // backing first
            auto failed = failures_.find(t.id());
            if (failed != failures_.end() && now < failed->second.retry_at) continue;
            next = t;
            found = true;
            break;
        }
        if (!found) return false;
        if (auto b = choose_basis(store_.list(), next)) basis = store_.path_of(*b);
        output = precopy_path(store_.dir(), next);
        in_flight_ = next.id();
    }
    log("pre-copying template " + next.id() + " from " + next.delta +
        (basis ? " on the basis of " + basis->filename().string() : " (no basis)"));
    auto received = receive_template(next, output, basis, tools);
    Status s = received.status();
    if (s) {
        std::lock_guard store(store_mu_);
        // As a download is added (template_fetch.cc): moved in, its backing chain checked.
        vmhost::TemplateSpec spec{next.name, next.version, next.labels, next.backing, next.format};
        if (!store_.resolve(next.id()))
            s = store_.add(spec, output, vmhost::AddMode::move).status();
        std::error_code ec;
        fs::remove(output, ec);
    }
    {
        std::lock_guard lock(mu_);
        in_flight_.clear();
        if (s) {
            failures_.erase(next.id());
        } else {
            Failure& f = failures_[next.id()];
            auto wait = options_.retry_min * (1 << std::min(f.count, 16));
            if (wait > options_.retry_max) wait = options_.retry_max;
            f.count++;
            f.retry_at = clock().now() + wait;
        }
    }
    cv_.notify_all();
    if (s) {
        std::ostringstream line;
        line.precision(1);
        line << std::fixed << "pre-copied template " << next.id() << ": "
             << received->bytes_received << " bytes received, " << received->bytes_reused
             << " reused from the basis, of " << next.size << " (" << mib(next.size) << ") in "
             << received->seconds << " s, sha256 verified";
        log(line.str());
    } else {
        log(s.message() + " (trying again later)");
    }
    return true;
}

Result<std::vector<vmhost::TemplateInfo>> TemplateWorker::dispose() {
    std::lock_guard store(store_mu_);
    std::chrono::seconds cool_down;
    std::set<std::string> keep;
    {
        std::lock_guard lock(mu_);
        if (!have_hot_) return std::vector<vmhost::TemplateInfo>{};
        cool_down = hot_.cool_down;
        for (const HotTemplate& t : hot_.hot) keep.insert(t.id());
    }
    const std::vector<fs::path> disks =
        options_.vm_disks ? options_.vm_disks() : std::vector<fs::path>{};
    auto removed = store_.dispose_cold(cool_down, disks, keep);
    if (!removed) {
        log(removed.status().message());
        return removed;
    }
    for (const auto& t : *removed)
        log("disposed of cold template " + t.id() + " (not used for " +
            std::to_string(cool_down.count()) + " s, not hot, under no VM)");
    return removed;
}

void TemplateWorker::run() {
    auto next_dispose = clock().now();
    for (;;) {
        {
            std::unique_lock lock(mu_);
            if (stop_) return;
            if (have_hot_ && clock().now() >= next_dispose) {
                lock.unlock();
                (void)dispose();
                next_dispose = clock().now() + options_.dispose_interval;
            }
        }
        if (precopy_next()) continue;
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, kIdleWait, [&] { return stop_; });
        if (stop_) return;
    }
}

}  // namespace provisioner::agent
