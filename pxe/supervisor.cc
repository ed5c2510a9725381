#include "pxe/supervisor.h"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>

namespace pxe {

using imaging::Status;
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
    if (!pid) return pid.status().context("start " + options_.name);
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

void Supervisor::poll() {
    if (state_ == State::kRunning) {
        auto status = launcher_.try_reap(pid_);
        if (!status) return;
        const auto ran = clock_.now() - started_at_;
        if (ran >= options_.stable_after) backoff_ = options_.initial_backoff;
        const auto delay = backoff_;
        schedule_restart();
        log(options_.name + ": pid " + std::to_string(pid_) + " " + status->describe() + " after " +
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
    return std::nullopt;
}

void Supervisor::stop() {
    const State was = state_;
    state_ = State::kStopped;
    if (was != State::kRunning) return;

    // Sleeps in small steps so a prompt exit is seen promptly; bounded by the timeout.
    auto wait_for_exit = [&](milliseconds limit) -> std::optional<ExitStatus> {
        const auto deadline = clock_.now() + limit;
        for (;;) {
            if (auto status = launcher_.try_reap(pid_)) return status;
            const auto now = clock_.now();
            if (now >= deadline) return std::nullopt;
            clock_.sleep_for(std::min(
                milliseconds(20),
                std::chrono::duration_cast<milliseconds>(deadline - now) + milliseconds(1)));
        }
    };

    launcher_.send_signal(pid_, SIGTERM);
    auto status = wait_for_exit(options_.stop_timeout);
    if (!status) {
        log(options_.name + ": pid " + std::to_string(pid_) + " ignored SIGTERM for " +
            format_seconds(seconds(options_.stop_timeout)) + "; sending SIGKILL");
        launcher_.send_signal(pid_, SIGKILL);
        status = wait_for_exit(options_.stop_timeout);
    }
    log(options_.name + ": stopped, pid " + std::to_string(pid_) + " " +
        (status ? status->describe() : std::string("did not exit even after SIGKILL")));
    pid_ = -1;
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
