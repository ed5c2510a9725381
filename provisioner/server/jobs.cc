#include "jobs.h"

#include <exception>

namespace provisioner::server {

std::string to_string(JobState state) {
    switch (state) {
        case JobState::queued:
            return "queued";
        case JobState::running:
            return "running";
        case JobState::succeeded:
            return "succeeded";
        case JobState::failed:
            return "failed";
    }
    return "unknown";
}

struct Jobs::Record final : JobProgress {
    mutable std::mutex mu;
    JobView view;
    JobWork work;

    void stage(const std::string& name, std::uint64_t total) override {
        std::lock_guard lock(mu);
        view.stage = name;
        view.done = 0;
        view.total = total;
    }
    void advance(std::uint64_t done) override {
        std::lock_guard lock(mu);
        view.done = done;
    }
};

Jobs::Jobs(JobLimits limits)
    : limits_(limits), pool_(limits.threads == 0 ? 1 : limits.threads, limits.max_waiting) {}

Jobs::~Jobs() {
    stop();
}

std::optional<JobId> Jobs::start(std::string kind, std::string what, JobWork work) {
    auto record = std::make_shared<Record>();
    record->work = std::move(work);
    record->view.kind = std::move(kind);
    record->view.what = std::move(what);
    record->view.created_at = timestamp_now();
    std::lock_guard lock(mu_);
    record->view.id = next_id_;
    if (!pool_.try_post([this, record] { run(record); })) return std::nullopt;
    ++next_id_;
    jobs_.emplace(record->view.id, record);
    forget_old();
    return record->view.id;
}

void Jobs::run(const std::shared_ptr<Record>& record) {
    {
        std::lock_guard lock(record->mu);
        record->view.state = JobState::running;
    }
    Result<nlohmann::json> out = Status::error(Code::storage, "the job ended without a result");
    try {
        out = record->work(*record);
    } catch (const std::exception& e) {
        out = Status::error(Code::storage, std::string("the job failed: ") + e.what());
    }
    std::lock_guard lock(record->mu);
    record->view.finished_at = timestamp_now();
    if (out) {
        record->view.state = JobState::succeeded;
        record->view.result = std::move(*out);
    } else {
        record->view.state = JobState::failed;
        record->view.error = out.status();
    }
    record->work = nullptr;  // what it captured goes now
}

std::optional<JobView> Jobs::get(JobId id) const {
    std::shared_ptr<Record> record;
    {
        std::lock_guard lock(mu_);
        auto it = jobs_.find(id);
        if (it == jobs_.end()) return std::nullopt;
        record = it->second;
    }
    std::lock_guard lock(record->mu);
    return record->view;
}

void Jobs::forget_old() {
    std::size_t finished = 0;
    for (auto it = jobs_.rbegin(); it != jobs_.rend(); ++it) {
        std::lock_guard lock(it->second->mu);
        if (it->second->view.finished_at != 0) ++finished;
    }
    for (auto it = jobs_.begin(); it != jobs_.end() && finished > limits_.kept_finished;) {
        bool done;
        {
            std::lock_guard lock(it->second->mu);
            done = it->second->view.finished_at != 0;
        }
        if (done) {
            it = jobs_.erase(it);
            --finished;
        } else {
            ++it;
        }
    }
}

void Jobs::stop() {
    pool_.stop();
}

}  // namespace provisioner::server
