// Hosts' power through their BMCs (provisioner/power), for the API, deployments and the
// power-state poller.
//
// Every BMC call runs on the service's own worker threads, never on an HTTP I/O thread and
// never under the orchestrator's lock; each is bounded and retried (RetryingDriver), and calls
// to one BMC are made one at a time. What a call learns (the power state, or its typed error)
// is written to the host's BMC row, and each change of the power state is an event of the
// host ("power off -> on"). A background thread reads every BMC's power state each
// poll_interval.
//
// Deployments: boot_for_deployment() sets each host's next boot to PXE (once) and powers it on
// (or cycles it when it is on); a host whose BMC fails is failed in its deployment with the
// BMC's error, the others go on. Once such a host is imaged, boot_disk_before_reboot() sets its
// next boot to disk before its netboot agent is told to reboot: that reboot is the host's only
// restart into its new system (no power cycle follows it).
//
// Passwords: sealed with the server's secret before they reach the store, opened in memory
// for a call; no answer, event or log line carries one.
//
// Thread-safe. The store, clock and orchestrator hooks outlive it; stop() (or the destructor)
// joins its threads.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "bmc_record.h"
#include "imaging/http/worker_pool.h"
#include "provisioner/power/bmc_config.h"
#include "provisioner/power/retrying_driver.h"
#include "provisioner/store.h"

namespace provisioner::server {

class PowerService {
  public:
    using DriverFactory =
        std::function<Result<std::unique_ptr<power::PowerDriver>>(const power::BmcConfig&)>;
    using Log = std::function<void(const std::string&)>;
    // Fails a host's part of a deployment (Orchestrator::fail_host).
    using FailHost = std::function<Status(HostId, DeploymentId, const std::string&)>;

    struct Options {
        std::size_t threads = 4;
        std::size_t max_queued = 4096;
        std::chrono::milliseconds poll_interval{30'000};  // 0: no polling
        std::chrono::milliseconds call_timeout{10'000};   // one attempt of one call
        // How long an imaged host's agent waits for its next boot to be set to disk: well
        // inside the agent's own limit on its result call (15 s).
        std::chrono::milliseconds disk_before_reboot{8'000};
        power::RetryPolicy retry;
    };

    struct Answer {
        HostId host = 0;
        std::string name;
        power::BmcOutcome outcome;
    };

    // secret: the server's host-token secret (hex), which seals the passwords.
    PowerService(Store& store, std::string secret, Options options,
                 DriverFactory factory = power::make_driver, base::Clock& clock = base::real_clock(),
                 Log log = {});
    ~PowerService();
    PowerService(const PowerService&) = delete;
    PowerService& operator=(const PowerService&) = delete;

    // Starts the background thread: the poller (unless poll_interval is 0).
    void start();
    void stop();
    void set_fail_host(FailHost fail) { fail_host_ = std::move(fail); }

    // Validates config (power::validate), seals its password and keeps it as host's BMC, and
    // logs an event naming the driver and address. An empty password keeps the one stored.
    Result<BmcRecord> set_bmc(const Host& host, power::BmcConfig config);
    Status remove_bmc(const Host& host);  // not_found when it has none
    // The host's BMC; not_found when it has none.
    Result<BmcRecord> bmc(HostId host);
    // Every host's BMC, by host id (the host list shows their power).
    Result<std::map<HostId, BmcRecord>> all_bmcs();

    // action: "on", "off", "cycle" or "status". Runs on the workers; the future is ready when
    // the call ended. A host without a BMC is answered at once (unsupported).
    std::future<Answer> request(const Host& host, const std::string& action);
    // Next boot to PXE once, then on (off) or cycle (on), for each host with a BMC other than
    // manual, in parallel; each failure fails that host in deployment via set_fail_host's
    // function. Returns at once. Hosts without a BMC are left to their operators.
    void boot_for_deployment(DeploymentId deployment, const std::vector<Host>& hosts);

    // host's netboot agent reported its image written and is about to be answered "reboot":
    // its next boot goes to disk (once), so that the agent's own reboot boots the new system.
    // Returns false at once for a host without a BMC or with a manual one. Else the call is
    // queued, true is returned, and done(whether the boot device was set) is called once, on
    // a worker, when the BMC call has ended; an event of the host says how it ended. Nothing
    // waits here: whoever answers the agent waits for done at most
    // options().disk_before_reboot (the API defers its answer, holding no thread).
    bool boot_disk_before_reboot(const Host& host, DeploymentId deployment,
                                 std::function<void(bool set)> done);
    const Options& options() const { return options_; }

    // One round of the poller, synchronously: every BMC's status read (tests, and the thread).
    void poll_once();

  private:
    std::shared_ptr<power::PowerDriver> driver_for(const Host& host, const BmcRecord& record,
                                                   power::BmcOutcome& failure);
    power::BmcOutcome call(const Host& host, const std::string& action);
    // Writes what an outcome taught about host's power into its row, with an event when the
    // power state changed. known: the state the outcome implies (unknown: none).
    void record_outcome(const Host& host, const power::BmcOutcome& outcome,
                        power::PowerState known);
    void run_thread();
    // Runs job on a BMC worker and gives its Answer to answer, on that worker; an exception
    // from job, or a full queue (then on this thread), is an Answer too: every caller hears.
    void dispatch(std::function<Answer()> job, std::function<void(Answer)> answer);
    std::future<Answer> post(std::function<Answer()> job);

    Store& store_;
    const std::string secret_;
    const Options options_;
    DriverFactory factory_;
    base::Clock& clock_;
    Log log_;
    FailHost fail_host_;

    std::mutex mu_;  // guards drivers_, polling_; never held across a BMC call
    struct CachedDriver {
        std::string body;  // the row it was made from: a change makes a new driver
        std::shared_ptr<power::PowerDriver> driver;
    };
    std::map<HostId, CachedDriver> drivers_;
    std::set<HostId> polling_;  // a status read queued or running
    std::mutex record_mu_;      // one read-compare-write of a row at a time

    std::unique_ptr<imaging::http::WorkerPool> pool_;
    std::thread thread_;
    std::mutex wake_mu_;
    std::condition_variable wake_;
    bool stopping_ = false;
};

}  // namespace provisioner::server
