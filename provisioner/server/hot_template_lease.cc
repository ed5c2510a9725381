#include "hot_template_lease.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "provisioner/power/sealed_password.h"

namespace provisioner::server {

namespace {

constexpr std::chrono::seconds kRetry{1};
constexpr const char* kSealPurpose = "hot-template-secret";

// What a sealed secret is bound to: a secret moved to another entry does not open.
std::string sealed_context(const std::string& owner, TemplateId id, const std::string& address) {
    return owner + "|" + std::to_string(id) + "|" + address;
}

}  // namespace

HotTemplateLease::HotTemplateLease(LeaseKeeper& leases, Store& store, base::Clock& clock,
                                   std::string seal_key,
                                   std::function<void(const std::string&)> log)
    : leases_(leases),
      store_(store),
      clock_(clock),
      seal_key_(std::move(seal_key)),
      log_(std::move(log)) {}

Timestamp HotTemplateLease::wall_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               clock_.wall_now().time_since_epoch())
        .count();
}

bool HotTemplateLease::serve() {
    if (leases_.holds(kName)) return true;
    const auto now = clock_.now();
    if (now < next_try_) return false;
    next_try_ = now + kRetry;
    written_.reset();  // a new term: publish whatever there is
    auto lease = leases_.acquire(kName);
    if (!lease) {
        log_("taking the hot-template lease: " + lease.status().message());
        return false;
    }
    {
        std::lock_guard lock(mu_);
        holder_ = lease->owner;
        holder_until_ = lease->expires_at;
    }
    if (lease->owner != leases_.owner()) {
        read_published();
        return false;
    }
    if (!lease->taken_from.empty()) {
        const std::string what = "hot templates served by " + leases_.owner() +
                                 ", taken over from " + lease->taken_from + " (its lease expired)";
        log_(what);
        if (auto logged = store_.log_event(server_event(what)); !logged)
            log_("recording the hot-template takeover: " + logged.status().message());
    }
    return true;
}

void HotTemplateLease::publish(const std::map<TemplateId, TemplateDelta>& servers) {
    // Compared unsealed: each sealing draws a fresh nonce.
    std::string plain;
    for (const auto& [id, delta] : servers)
        plain += std::to_string(id) + " " + delta.address + " " + delta.secret + "\n";
    if (written_ == plain) return;
    const std::string& owner = leases_.owner();
    nlohmann::json templates = nlohmann::json::object();
    for (const auto& [id, delta] : servers) {
        auto sealed = power::seal_text(seal_key_, kSealPurpose,
                                       sealed_context(owner, id, delta.address), delta.secret);
        if (!sealed) {
            log_("publishing the hot-template servers: " + sealed.status().message());
            return;
        }
        templates[std::to_string(id)] = {{"delta", delta.address}, {"sealed", *sealed}};
    }
    const std::string value = nlohmann::json{{"owner", owner}, {"templates", templates}}.dump();
    if (Status s = store_.set_setting(kSetting, value); !s) {
        log_("publishing the hot-template servers: " + s.message());  // tried at the next tick
        return;
    }
    written_ = plain;
}

void HotTemplateLease::read_published() {
    auto value = store_.get_setting(kSetting);
    std::string by;
    std::map<TemplateId, TemplateDelta> servers;
    if (value) {
        auto doc = nlohmann::json::parse(*value, nullptr, false);
        if (doc.is_object() && doc.contains("owner") && doc["owner"].is_string() &&
            doc.contains("templates") && doc["templates"].is_object()) {
            by = doc["owner"].get<std::string>();
            for (const auto& [key, entry] : doc["templates"].items()) {
                if (!entry.is_object() || !entry.contains("delta") || !entry["delta"].is_string() ||
                    !entry.contains("sealed") || !entry["sealed"].is_string())
                    continue;
                char* end = nullptr;
                const long long id = std::strtoll(key.c_str(), &end, 10);
                if (end == key.c_str() || *end) continue;
                const std::string address = entry["delta"].get<std::string>();
                auto secret = power::open_text(seal_key_, kSealPurpose,
                                               sealed_context(by, TemplateId(id), address),
                                               entry["sealed"].get<std::string>());
                if (!secret) {
                    log_("the hot-template server of template " + key + " published by " + by +
                         " does not open (" + secret.status().message() +
                         "; do the servers share site.key?); not handed out");
                    continue;
                }
                servers[TemplateId(id)] = {address, *secret};
            }
        } else {
            log_("the published hot-template servers do not read; ignored");
        }
    } else if (value.status().code() != Code::not_found) {
        log_("reading the hot-template servers: " + value.status().message());
        return;  // keeps what it had
    }
    std::lock_guard lock(mu_);
    published_by_ = std::move(by);
    published_ = std::move(servers);
}

std::optional<TemplateDelta> HotTemplateLease::published(TemplateId id) const {
    const Timestamp now = wall_ms();
    std::lock_guard lock(mu_);
    if (published_by_.empty() || published_by_ != holder_ || now >= holder_until_)
        return std::nullopt;  // not the live holder's: an agent would be sent to a dead server
    auto it = published_.find(id);
    if (it == published_.end()) return std::nullopt;
    return it->second;
}

std::optional<std::pair<std::string, TemplateDelta>> HotTemplateLease::held_elsewhere(
    TemplateId id) const {
    if (leases_.holds(kName)) return std::nullopt;
    auto delta = published(id);
    if (!delta) return std::nullopt;
    std::lock_guard lock(mu_);
    return std::pair{published_by_, *delta};
}

std::optional<std::string> HotTemplateLease::holder_elsewhere() const {
    if (leases_.holds(kName)) return std::nullopt;
    const Timestamp now = wall_ms();
    std::lock_guard lock(mu_);
    if (holder_.empty() || holder_ == leases_.owner() || now >= holder_until_) return std::nullopt;
    return holder_;
}

void HotTemplateLease::release() {
    if (!leases_.holds(kName)) return;
    if (Status s = leases_.release(kName); !s)
        log_("giving up the hot-template lease: " + s.message());  // it expires instead
}

}  // namespace provisioner::server
