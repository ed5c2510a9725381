#include "power_service.h"

#include "provisioner/power/sealed_password.h"

namespace provisioner::server {

using power::BmcError;
using power::BmcOutcome;
using power::PowerState;

namespace {

// What makes a driver: a change of any of these makes a new one (not a change of the power).
std::string driver_key(const BmcRecord& r) {
    return r.driver + '\n' + r.address + '\n' + r.username + '\n' + r.password_sealed + '\n' +
           r.ca_file;
}

Event host_event(const Host& host, std::string reason) {
    Event e;
    e.host = host.id;
    e.mac = host.mac.str();
    e.reason = std::move(reason);
    return e;
}

}  // namespace

PowerService::PowerService(Store& store, std::string secret, Options options,
                           DriverFactory factory, base::Clock& clock, Log log)
    : store_(store),
      secret_(std::move(secret)),
      options_(options),
      factory_(std::move(factory)),
      clock_(clock),
      log_(std::move(log)),
      pool_(std::make_unique<imaging::http::WorkerPool>(options.threads, options.max_queued)) {}

PowerService::~PowerService() { stop(); }

void PowerService::start() {
    std::lock_guard lock(wake_mu_);
    if (thread_.joinable() || stopping_) return;
    thread_ = std::thread([this] { run_thread(); });
}

void PowerService::stop() {
    {
        std::lock_guard lock(wake_mu_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    pool_->stop();
}

void PowerService::run_thread() {
    auto next_poll = clock_.now();
    std::unique_lock lock(wake_mu_);
    while (!stopping_) {
        wake_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
        if (stopping_) break;
        lock.unlock();
        if (options_.poll_interval.count() > 0 && clock_.now() >= next_poll) {
            next_poll = clock_.now() + options_.poll_interval;
            // Queued, not waited for: a BMC that does not answer holds one worker, not the
            // poller.
            auto bmcs = all_bmcs();
            if (bmcs) {
                for (const auto& [id, record] : *bmcs) {
                    if (record.driver == "manual") continue;
                    {
                        std::lock_guard guard(mu_);
                        if (!polling_.insert(id).second) continue;
                    }
                    auto host = store_.get_host(id);
                    if (!host) {
                        std::lock_guard guard(mu_);
                        polling_.erase(id);
                        continue;
                    }
                    post([this, h = *host] {
                        Answer a{h.id, h.name, call(h, "status")};
                        std::lock_guard guard(mu_);
                        polling_.erase(h.id);
                        return a;
                    });
                }
            }
        }
        lock.lock();
    }
}

Result<BmcRecord> PowerService::set_bmc(const Host& host, power::BmcConfig config) {
    auto old = bmc(host.id);
    if (config.password.empty() && old && old->driver != "manual") {
        // Keep the stored password: opened to validate the whole config.
        auto open = power::open_password(secret_, host.id, old->password_sealed);
        if (!open) return open.status();
        config.password = *open;
    }
    if (Status s = power::validate(config); !s) return s;
    BmcRecord r;
    r.driver = config.driver;
    r.address = config.address;
    r.username = config.username;
    r.ca_file = config.ca_file;
    auto sealed = power::seal_password(secret_, host.id, config.password);
    if (!sealed) return sealed.status();
    r.password_sealed = *sealed;
    if (old && old->driver == r.driver && old->address == r.address) {
        r.power = old->power;
        r.power_at = old->power_at;
    }
    std::string what = r.driver == "manual" ? std::string("manual")
                                            : r.driver + " " + r.address + " (user " +
                                                  r.username + ")";
    Status s = store_.transaction([&]() -> Status {
        if (Status p = store_.put_host_bmc({host.id, store_.now(), encode_bmc(r)}); !p) return p;
        return store_.log_event(host_event(host, "BMC set: " + what)).status();
    });
    if (!s) return s;
    std::lock_guard lock(mu_);
    drivers_.erase(host.id);
    return r;
}

Status PowerService::remove_bmc(const Host& host) {
    if (auto old = bmc(host.id); !old) return old.status();
    Status s = store_.transaction([&]() -> Status {
        if (Status r = store_.remove_host_bmc(host.id); !r) return r;
        return store_.log_event(host_event(host, "BMC removed")).status();
    });
    std::lock_guard lock(mu_);
    drivers_.erase(host.id);
    return s;
}

Result<BmcRecord> PowerService::bmc(HostId host) {
    auto rows = store_.list_host_bmcs();
    if (!rows) return rows.status();
    for (const HostBmcRow& row : *rows)
        if (row.host == host) return decode_bmc(row.body);
    return Status::error(Code::not_found, "host " + std::to_string(host) + " has no BMC");
}

Result<std::map<HostId, BmcRecord>> PowerService::all_bmcs() {
    auto rows = store_.list_host_bmcs();
    if (!rows) return rows.status();
    std::map<HostId, BmcRecord> out;
    for (const HostBmcRow& row : *rows) {
        auto r = decode_bmc(row.body);
        if (r) out.emplace(row.host, *r);
    }
    return out;
}

std::shared_ptr<power::PowerDriver> PowerService::driver_for(const Host& host,
                                                             const BmcRecord& record,
                                                             BmcOutcome& failure) {
    const std::string key = driver_key(record);
    {
        std::lock_guard lock(mu_);
        auto it = drivers_.find(host.id);
        if (it != drivers_.end() && it->second.body == key) return it->second.driver;
    }
    power::BmcConfig config;
    config.driver = record.driver;
    config.address = record.address;
    config.username = record.username;
    config.ca_file = record.ca_file;
    config.timeout = options_.call_timeout;
    auto password = power::open_password(secret_, host.id, record.password_sealed);
    if (!password) {
        failure = BmcOutcome::failure(BmcError::authentication,
                                      "the stored BMC password: " + password.status().message());
        return nullptr;
    }
    config.password = *password;
    auto made = factory_(config);
    if (!made) {
        failure = BmcOutcome::failure(BmcError::unsupported, made.status().message());
        return nullptr;
    }
    auto driver = std::make_shared<power::RetryingDriver>(std::move(*made), options_.retry, clock_);
    std::lock_guard lock(mu_);
    auto& slot = drivers_[host.id];
    // Two callers may have made one each: keep the first, so calls to a BMC stay serialised.
    if (slot.body != key || !slot.driver) slot = {key, driver};
    return slot.driver;
}

BmcOutcome PowerService::call(const Host& host, const std::string& action) {
    auto record = bmc(host.id);
    if (!record)
        return BmcOutcome::failure(BmcError::unsupported,
                                   "host " + host.name + " has no BMC (provisioner host bmc set)");
    BmcOutcome failure;
    auto driver = driver_for(host, *record, failure);
    if (!driver) {
        record_outcome(host, failure, PowerState::unknown);
        return failure;
    }
    BmcOutcome out;
    PowerState known = PowerState::unknown;
    power::PowerAction act{};
    power::BootDevice device{};
    if (action == "status") {
        out = driver->status();
        known = out.state;
    } else if (action == "pxe" || action == "disk") {
        power::parse_boot_device(action, device);
        out = driver->set_next_boot(device);
    } else if (power::parse_power_action(action, act)) {
        if (act == power::PowerAction::cycle) {
            // A cycle is for a fresh boot: a host that is off is powered on (as MAAS's
            // ipmipower --cycle --on-if-off), since many BMCs refuse to cycle what is off.
            BmcOutcome now = driver->status();
            if (!now.ok()) {
                record_outcome(host, now, PowerState::unknown);
                return now;
            }
            if (now.state == PowerState::off) act = power::PowerAction::on;
        }
        out = driver->power(act);
        known = act == power::PowerAction::off ? PowerState::off : PowerState::on;
        if (out.ok()) out.state = known;
    } else {
        return BmcOutcome::failure(BmcError::unsupported, "unknown power action '" + action +
                                                              "' (on, off, cycle, status)");
    }
    record_outcome(host, out, out.ok() ? known : PowerState::unknown);
    return out;
}

void PowerService::record_outcome(const Host& host, const BmcOutcome& outcome,
                                  PowerState known) {
    std::lock_guard lock(record_mu_);
    auto old = bmc(host.id);
    if (!old) return;  // removed meanwhile
    BmcRecord r = *old;
    if (outcome.ok()) {
        r.error_kind.clear();
        r.error.clear();
        if (known != PowerState::unknown) r.power = known;
    } else {
        r.error_kind = power::to_string(outcome.error);
        r.error = outcome.message;
    }
    if (r == *old) return;
    std::vector<std::string> events;
    if (r.power != old->power) {
        r.power_at = store_.now();
        events.push_back(std::string("power ") + power::to_string(old->power) + " -> " +
                         power::to_string(r.power));
    }
    if (!r.error.empty() && r.error != old->error)
        events.push_back("BMC " + r.error_kind + ": " + r.error);
    if (r.error.empty() && !old->error.empty()) events.push_back("BMC answers again");
    Status s = store_.transaction([&]() -> Status {
        if (Status p = store_.put_host_bmc({host.id, store_.now(), encode_bmc(r)}); !p) return p;
        for (const auto& e : events)
            if (auto l = store_.log_event(host_event(host, e)); !l) return l.status();
        return Status::ok();
    });
    if (!s && log_) log_("power: host " + host.name + ": " + s.message());
}

void PowerService::dispatch(std::function<Answer()> job, std::function<void(Answer)> answer) {
    auto shared = std::make_shared<std::function<void(Answer)>>(std::move(answer));
    bool queued = pool_->try_post([shared, job = std::move(job)] {
        Answer a;
        // No exception leaves a worker: the waiting caller gets an answer either way.
        try {
            a = job();
        } catch (const std::exception& e) {
            a.outcome = BmcOutcome::failure(BmcError::protocol,
                                            std::string("internal error: ") + e.what());
        }
        (*shared)(std::move(a));
    });
    if (!queued) {
        Answer a;
        a.outcome = BmcOutcome::failure(BmcError::busy, "the server's queue of BMC calls is full");
        (*shared)(std::move(a));
    }
}

std::future<PowerService::Answer> PowerService::post(std::function<Answer()> job) {
    auto promise = std::make_shared<std::promise<Answer>>();
    auto future = promise->get_future();
    dispatch(std::move(job), [promise](Answer a) { promise->set_value(std::move(a)); });
    return future;
}

std::future<PowerService::Answer> PowerService::request(const Host& host,
                                                        const std::string& action) {
    return post([this, host, action] { return Answer{host.id, host.name, call(host, action)}; });
}

void PowerService::boot_for_deployment(DeploymentId deployment, const std::vector<Host>& hosts) {
    auto bmcs = all_bmcs();
    if (!bmcs) {
        if (log_) log_("power: deployment " + std::to_string(deployment) + ": " +
                       bmcs.status().message());
        return;
    }
    for (const Host& host : hosts) {
        auto it = bmcs->find(host.id);
        if (it == bmcs->end() || it->second.driver == "manual") continue;
        post([this, host, deployment] {
            BmcOutcome out = call(host, "pxe");
            if (out.ok()) out = call(host, "cycle");
            if (!out.ok()) {
                std::string reason = "BMC " + std::string(power::to_string(out.error)) + ": " +
                                     out.message;
                if (fail_host_) {
                    Status s = fail_host_(host.id, deployment, reason);
                    if (!s && log_) log_("power: host " + host.name + ": " + s.message());
                }
            } else {
                store_.log_event(host_event(
                    host, "deployment " + std::to_string(deployment) +
                              ": next boot PXE (once), powered on by its BMC"));
            }
            return Answer{host.id, host.name, out};
        });
    }
}

bool PowerService::boot_disk_before_reboot(const Host& host, DeploymentId deployment,
                                           std::function<void(bool set)> done) {
    auto record = bmc(host.id);
    if (!record || record->driver == "manual") return false;
    dispatch(
        [this, host, deployment] {
            BmcOutcome out = call(host, "disk");
            const std::string what = "deployment " + std::to_string(deployment) + ": imaged; ";
            store_.log_event(host_event(
                host, out.ok() ? what + "next boot disk (once), before its agent reboots it"
                               : what + "its BMC could not set its next boot to disk: BMC " +
                                     power::to_string(out.error) + ": " + out.message));
            return Answer{host.id, host.name, out};
        },
        [this, host, done = std::move(done)](Answer a) {
            if (!a.outcome.ok() && log_)
                log_("power: host " + host.name + ": next boot not set to disk: " +
                     a.outcome.message);
            if (done) done(a.outcome.ok());
        });
    return true;
}

void PowerService::poll_once() {
    auto bmcs = all_bmcs();
    if (!bmcs) return;
    std::vector<std::future<Answer>> calls;
    for (const auto& [id, record] : *bmcs) {
        if (record.driver == "manual") continue;
        auto host = store_.get_host(id);
        if (host) calls.push_back(request(*host, "status"));
    }
    for (auto& f : calls) f.wait();
}

}  // namespace provisioner::server
