// The agent's commands as flows over narrow interfaces (server, imaging tool, clock), so tests
// walk every retry and failure path without a server, a child process or waiting.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

#include "base/clock.h"
#include "provisioner/agent/disk_grow.h"
#include "provisioner/agent/imaging_runner.h"
#include "provisioner/agent/seed.h"
#include "provisioner/agent/sender_probe.h"
#include "provisioner/agent/server_client.h"

namespace provisioner::agent {

struct AgentOptions {
    std::string mac;        // this host, "52:54:00:00:00:01"
    std::string interface;  // the NIC towards the server ("" when unknown)
    std::string disk;       // --disk ("" lets the job or the facts decide)
    std::string imaging = "imaging";
    std::filesystem::path root = "/";     // where /proc and /sys are read (tests: a fake tree)
    std::filesystem::path storage = "/";  // ready: the filesystem whose free space is offered
    // How long the server may stay unreachable (or answer 5xx) before the hello gives up;
    // "wait" answers do not count: the server is there and has said when to ask again.
    std::chrono::milliseconds hello_timeout{600'000};
    // How long the result post is retried while the server is unreachable (it may restart).
    std::chrono::milliseconds result_timeout{300'000};
    std::chrono::milliseconds progress_interval{1'000};
    // image: after the image is verified, fills DISK's seed partition, if it has one (seed.h);
    // true when it did. Tests replace it: their disks are not real.
    std::function<imaging::Result<bool>(const std::string& disk, const std::string& text)>
        fill_seed = fill_seed_partition;
    // image: after the image is verified and before the seed is filled, grows the disk's last
    // partition and its filesystem to fill DISK (disk_grow.h). Tests replace it.
    std::function<imaging::Result<DiskGrowth>(const std::string& disk)> grow_disk =
        provisioner::agent::grow_disk;
    // image: whether the job's sender answers (sender_probe.h), asked when a transfer broke off
    // and a server hands out the same job again. Tests replace it.
    std::function<SenderState(const Job&)> probe_sender = [](const Job& job) {
        return provisioner::agent::probe_sender(job, std::chrono::seconds(3));
    };
    // image: how long one job is asked for and run again after its transfer broke off, waiting
    // 2 s, 4 s ... (at most 30 s) between runs: long enough for a dead sender's lease to run out
    // (provisionerd --lease-seconds, 15 by default) and another server to take its work over.
    std::chrono::milliseconds same_job_patience{120'000};
};

// `image`: hello, receive the job, run imaging, report progress and the result. Returns 0
// when the image was verified and the server accepted the result, or when the server has
// nothing for this host; 1 otherwise. Every failure is posted as a result when there is a
// job, so the server marks this host failed and carries on with the others.
int run_image(const AgentOptions& options, ServerClient& server, ImagingRunner& imaging,
              base::Clock& clock);

// `discover`: the discovery hello (no token needed), facts only.
int run_discover(const AgentOptions& options, ServerClient& server, base::Clock& clock);

// `ready`: POST ready with this host's capacity.
int run_ready(const AgentOptions& options, ServerClient& server, base::Clock& clock);

}  // namespace provisioner::agent
