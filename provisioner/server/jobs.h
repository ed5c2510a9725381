// Long operations the API starts and reports on instead of doing them inside a handler
// (template add copies and packs gigabytes; image import reads and verifies every chunk): each
// is a job, run on a few threads of its own, that says how far it is and ends with a result
// or an error (provisioner/API.md, "Jobs").
//
// Thread-safe. Jobs live in memory: a restart forgets them (their work, a catalog or image
// record, is in the store once done; an interrupted one leaves nothing, see each operation).
// Finished jobs are kept for JobLimits::kept_finished more jobs, so a client that polls finds
// its answer.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "imaging/http/worker_pool.h"
#include "provisioner/status.h"
#include "provisioner/store.h"

namespace provisioner::server {

using JobId = std::int64_t;

struct JobLimits {
    std::size_t threads = 1;       // jobs running at once
    std::size_t max_waiting = 16;  // queued beyond those; more: start() refuses
    std::size_t kept_finished = 100;
};

enum class JobState { queued, running, succeeded, failed };
std::string to_string(JobState state);

struct JobView {
    JobId id = 0;
    std::string kind;  // "template_add", "image_import"
    std::string what;  // one line for people: "template debian@12 from /srv/x.qcow2"
    JobState state = JobState::queued;
    std::string stage;            // what it does now ("copying", "packing", "verifying")
    std::uint64_t done = 0;       // of total, in the stage's unit (bytes)
    std::uint64_t total = 0;      // 0: not known
    Status error = Status::ok();  // when failed
    nlohmann::json result;        // when succeeded: what the operation made
    Timestamp created_at = 0;
    Timestamp finished_at = 0;  // 0 until it ends
};

// What a job's work reports through; set from the job's thread, read by anyone.
class JobProgress {
  public:
    virtual ~JobProgress() = default;
    virtual void stage(const std::string& name, std::uint64_t total) = 0;
    virtual void advance(std::uint64_t done) = 0;
};

using JobWork = std::function<Result<nlohmann::json>(JobProgress&)>;

class Jobs {
  public:
    explicit Jobs(JobLimits limits);
    ~Jobs();  // stop()
    Jobs(const Jobs&) = delete;
    Jobs& operator=(const Jobs&) = delete;

    // Queues work; nothing when max_waiting jobs wait already (the caller answers 503).
    std::optional<JobId> start(std::string kind, std::string what, JobWork work);
    std::optional<JobView> get(JobId id) const;
    // Refuses new jobs, forgets the queued ones, waits for the running ones.
    void stop();

  private:
    struct Record;
    void run(const std::shared_ptr<Record>& record);
    void forget_old();  // under mu_

    const JobLimits limits_;
    mutable std::mutex mu_;
    JobId next_id_ = 1;
    std::map<JobId, std::shared_ptr<Record>> jobs_;
    imaging::http::WorkerPool pool_;  // last: stopped before the records go
};

}  // namespace provisioner::server
