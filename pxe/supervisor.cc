#include "pxe/supervisor.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>

namespace pxe {

using base::Status;
using std::chrono::milliseconds;

namespace {

std::string format_seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fs", s);
    return buf;
}

}  // namespace

Supervisor::Supervisor(SupervisorOptions options, ProcessLauncher& launcher, Clock& clock)
    : options_(std::move(options)),
      launcher_(launcher),
      clock_(clock),
      backoff_(options_.initial_backoff) {}

Supervisor::~Supervisor() {
    stop();
}

void Supervisor::log(const std::string& line) const {
    if (options_.log)
        options_.log(line);
    else
        std::cerr << line << std::endl;
}

double Supervisor::seconds(std::chrono::nanoseconds d) const {
    return std::chrono::duration<double>(d).count();
}

Status Supervisor::start() {
    if (state_ != State::kIdle) return Status::error(options_.name + ": already started");
    auto pid = launcher_.spawn(options_.argv);
    if (!pid) {
        Status failed = pid.status().context("start " + options_.name);
        if (options_.retry_failed_start && options_.restart) {
            last_exit_ = pid.status().message();
            count_death(true);
            const auto delay = backoff_;
            schedule_restart();
            log(failed.message() + "; next try in " + format_seconds(seconds(delay)));
        }
        return failed;
    }
    pid_ = *pid;
    started_at_ = clock_.now();
    state_ = State::kRunning;
    log(options_.name + ": started, pid " + std::to_string(pid_));
    return Status::ok();
}

void Supervisor::schedule_restart() {
    restart_at_ = clock_.now() + backoff_;
    backoff_ = std::min(backoff_ * 2, options_.max_backoff);
    state_ = State::kWaiting;
}

void Supervisor::count_death(bool quick_failure) {
    quick_deaths_ = quick_failure ? quick_deaths_ + 1 : 0;
}

void Supervisor::poll() {
    if (state_ == State::kTerminating) return poll_terminating();
    if (state_ == State::kRunning) {
        auto status = launcher_.try_reap(pid_);
        const auto ran = clock_.now() - started_at_;
        if (!status) {
            if (ran >= options_.stable_after) quick_deaths_ = 0;
            return;
        }
        last_exit_ = status->describe();
        if (!options_.restart) {
            exit_status_ = status;
            state_ = State::kEnded;
            log(options_.name + ": pid " + std::to_string(pid_) + " " + last_exit_ + " after " +
                format_seconds(seconds(ran)));
            pid_ = -1;
            return;
        }
        if (ran >= options_.stable_after) backoff_ = options_.initial_backoff;
        const bool clean = status->kind == ExitStatus::Kind::kExited && status->value == 0;
        count_death(!clean && ran < options_.stable_after);
        const auto delay = backoff_;
        schedule_restart();
        log(options_.name + ": pid " + std::to_string(pid_) + " " + last_exit_ + " after " +
            format_seconds(seconds(ran)) + "; restart " + std::to_string(restarts_ + 1) + " in " +
            format_seconds(seconds(delay)));
        pid_ = -1;
    }
    if (state_ == State::kWaiting && clock_.now() >= restart_at_) try_restart();
}

void Supervisor::try_restart() {
    auto pid = launcher_.spawn(options_.argv);
    ++restarts_;
    if (!pid) {
        last_exit_ = pid.status().message();
        count_death(true);
        const auto delay = backoff_;
        schedule_restart();
        log(options_.name + ": restart " + std::to_string(restarts_) + " failed: " +
            pid.status().message() + "; next try in " + format_seconds(seconds(delay)));
        return;
    }
    pid_ = *pid;
    started_at_ = clock_.now();
    state_ = State::kRunning;
    log(options_.name + ": restart " + std::to_string(restarts_) + ", pid " + std::to_string(pid_));
}

std::optional<Clock::time_point> Supervisor::next_wakeup() const {
    if (state_ == State::kWaiting) return restart_at_;
    if (state_ == State::kTerminating) return term_at_ + options_.stop_timeout;
    return std::nullopt;
}

void Supervisor::terminate() {
    switch (state_) {
        case State::kRunning:
            launcher_.send_signal(pid_, SIGTERM);
            term_at_ = clock_.now();
            killed_ = false;
            state_ = State::kTerminating;
            break;
        case State::kIdle:
        case State::kWaiting:
            state_ = State::kStopped;
            break;
        case State::kTerminating:
        case State::kStopped:
        case State::kEnded:
            break;
    }
}

void Supervisor::poll_terminating() {
    if (auto status = launcher_.try_reap(pid_)) {
        log(options_.name + ": stopped, pid " + std::to_string(pid_) + " " + status->describe());
        pid_ = -1;
        state_ = State::kStopped;
        return;
    }
    // After SIGKILL it is reaped whenever the kernel lets it go; nothing more to send.
    if (killed_ || clock_.now() < term_at_ + options_.stop_timeout) return;
    log(options_.name + ": pid " + std::to_string(pid_) + " ignored SIGTERM for " +
        format_seconds(seconds(options_.stop_timeout)) + "; sending SIGKILL");
    launcher_.send_signal(pid_, SIGKILL);
    killed_ = true;
    term_at_ = clock_.now();
}

void Supervisor::stop() {
    terminate();
    // Sleeps in small steps so a prompt exit is seen promptly; bounded by twice the timeout.
    while (state_ == State::kTerminating) {
        poll_terminating();
        if (state_ != State::kTerminating) return;
        const auto now = clock_.now();
        const auto deadline = term_at_ + options_.stop_timeout;
        if (killed_ && now >= deadline) {
            log(options_.name + ": stopped, pid " + std::to_string(pid_) +
                " did not exit even after SIGKILL");
            pid_ = -1;
            state_ = State::kStopped;
            return;
        }
        clock_.sleep_for(
            std::min(milliseconds(20),
                     std::chrono::duration_cast<milliseconds>(deadline - now) + milliseconds(1)));
    }
}

Status Supervisor::signal(int sig) {
    if (state_ != State::kRunning)
        return Status::error(options_.name + ": not running, cannot signal it");
    launcher_.send_signal(pid_, sig);
    return Status::ok();
}

std::optional<int> Supervisor::pid() const {
    if (state_ == State::kRunning) return pid_;
    return std::nullopt;
}

}  // namespace pxe
