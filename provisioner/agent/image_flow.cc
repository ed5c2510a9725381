// `provisioner-agent image`: hello -> job -> imaging receive -> progress -> result.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>

#include "imaging/http/tls.h"
#include "imaging/progress.h"
#include "provisioner/agent/agent.h"
#include "provisioner/agent/disk_choice.h"
#include "provisioner/agent/facts.h"
#include "retry.h"

namespace provisioner::agent {
namespace {

using json = nlohmann::json;

// The job's public key written to a private temporary file, removed with this object.
class PubkeyFile {
  public:
    imaging::Status write(const std::string& pem) {
        const char* tmp = std::getenv("TMPDIR");
        std::string name = std::string(tmp && *tmp ? tmp : "/tmp") + "/provisioner-agent-XXXXXX";
        int fd = ::mkstemp(name.data());
        if (fd < 0) return imaging::errno_status("creating a file for the job's public key");
        path_ = name;
        std::size_t written = 0;
        while (written < pem.size()) {
            ssize_t n = ::write(fd, pem.data() + written, pem.size() - written);
            if (n <= 0) {
                ::close(fd);
                return imaging::errno_status("writing " + path_);
            }
            written += std::size_t(n);
        }
        ::close(fd);
        return imaging::Status::ok();
    }
    ~PubkeyFile() {
        if (!path_.empty()) ::unlink(path_.c_str());
    }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

std::string source_of(const Job& job) {
    switch (job.transport) {
        case wire::Transport::delta:
            return job.delta_from;
        case wire::Transport::multicast:
            return job.multicast_group + ":" + std::to_string(job.multicast_port);
        case wire::Transport::torrent:
            return job.torrent_url;
    }
    return "";
}

// Hellos until the server hands out a job. nullopt with exit_status set otherwise.
struct HelloOutcome {
    std::optional<Job> job;
    int exit_status = 1;
};

HelloOutcome hello_until_job(const AgentOptions& options, const Facts& facts, ServerClient& server,
                             base::Clock& clock) {
    log_line("hello to " + server.base_url() + " as " + options.mac);
    for (;;) {
        CallResult r = call_with_retry(
            [&] { return server.hello(options.mac, "image", facts_to_json(facts)); }, "hello",
            options.hello_timeout, clock);
        if (!r.ok()) {
            log_line("error: " + r.error);
            return {};
        }
        auto action = parse_hello_answer(r.body);
        if (!action) {
            log_line("error: " + action.status().message());
            return {};
        }
        switch (action->kind) {
            case HelloAction::Kind::none:
                log_line("nothing to do: " +
                         (action->reason.empty()
                              ? std::string("the server has no job for this host")
                              : action->reason));
                return {std::nullopt, 0};
            case HelloAction::Kind::wait:
                log_line("the server says wait " + std::to_string(action->retry_after.count()) +
                         " ms");
                clock.sleep_for(action->retry_after);
                // The deployment may be another server's (or being taken over): ask the next.
                server.next_server();
                break;
            case HelloAction::Kind::image:
                return {std::move(action->job), 1};
        }
    }
}

// Posts the result, retrying while the server is unreachable; true when it was accepted.
bool post_result(const AgentOptions& options, ServerClient& server, base::Clock& clock,
                 const Job& job, bool ok, const std::string& error, const json& result) {
    CallResult r = call_with_retry(
        [&] { return server.result(job.deployment, ok, error, ok ? result : json()); }, "result",
        options.result_timeout, clock);
    if (!r.ok()) {
        log_line("error: the server did not take the result: " + r.error);
        return false;
    }
    if (r.body.is_object() && r.body.contains("action"))
        log_line("the server says " + r.body["action"].dump());
    return true;
}

void log_done(const ImagingOutcome& outcome) {
    const json& r = *outcome.result;
    auto bytes = [&](const char* key) { return r.value(key, std::uint64_t(0)); };
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.1f", r.value("seconds", 0.0));
    log_line("done, " + imaging::human_bytes(double(bytes("bytes_written"))) + " written, " +
             imaging::human_bytes(double(bytes("bytes_received"))) + " received, " +
             imaging::human_bytes(double(bytes("bytes_reused"))) + " reused, in " + seconds +
             " s; sha256 " + r.value("sha256", std::string("?")));
}

// An image with a seed partition (seed.h) gets the server, this host's token and its MAC, so
// that the imaged system can report `ready`.
imaging::Status fill_seed(const AgentOptions& options, const ServerClient& server, const Job& job,
                          const std::string& disk) {
    const std::string& token = job.dom0_token.empty() ? server.token() : job.dom0_token;
    std::string ca_pem;
    if (const std::string& ca = imaging::http::default_ca_file(); !ca.empty()) {
        std::ifstream in(ca);
        ca_pem.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    auto filled =
        options.fill_seed(disk, seed_text(server.server_list(), token, options.mac, ca_pem));
    if (!filled) return imaging::Status::error("its seed partition: " + filled.status().message());
    if (*filled) log_line("filled the seed partition, with which the imaged system reports ready");
    return imaging::Status::ok();
}

// Writes the job's key files (private, removed on return) and runs `imaging receive` onto
// disk, posting progress; setup_error says why it could not start.
ImagingOutcome receive(const AgentOptions& options, const Job& job, const std::string& disk,
                       ImagingRunner& imaging, ServerClient& server, base::Clock& clock,
                       std::string& setup_error) {
    setup_error.clear();
    PubkeyFile pubkey;
    PubkeyFile secret;       // mkstemp: 0600, removed when the run is over
    PubkeyFile receipt_key;  // likewise
    PubkeyFile peer_cert;    // likewise: this host's certificate and key in the swarm
    imaging::Status s = pubkey.write(job.pubkey_pem);
    if (s && !job.secret.empty()) s = secret.write(job.secret + "\n");
    if (s && !job.receipt_key.empty()) s = receipt_key.write(job.receipt_key + "\n");
    if (s && !job.torrent_peer_cert.empty()) s = peer_cert.write(job.torrent_peer_cert);
    if (!s) {
        setup_error = s.message();
        return {};
    }
    auto argv = build_receive_argv(
        job, ReceiveTarget{options.imaging, disk, pubkey.path(), options.interface, secret.path(),
                           job.receipt_key.empty() ? "" : receipt_key.path(), peer_cert.path()});
    if (!argv) {
        setup_error = argv.status().message();
        return {};
    }
    log_line("imaging " + disk + " with " + job.image_name + " " + job.image_version + " by " +
             wire::to_string(job.transport) + " from " + source_of(job) + " (deployment " +
             std::to_string(job.deployment) + ")");
    std::optional<base::Clock::time_point> last_post;
    return imaging.run(*argv, [&](std::uint64_t done, std::uint64_t total) {
        auto now = clock.now();
        if (last_post && now - *last_post < options.progress_interval) return;
        last_post = now;
        CallResult r = server.progress(job.deployment, done, total);
        if (!r.ok()) log_line("progress not posted (" + r.error + "); carrying on");
    });
}

// How many jobs one run takes for its deployment: the first, and those of servers that took
// the deployment over from one that died mid-transfer.
constexpr int kReceiveJobs = 4;
// How many times one job runs at most (its sender answering, or not to be asked).
constexpr int kRunsOfOneJob = 5;
constexpr std::chrono::milliseconds kFirstBackoff{2'000}, kMaxBackoff{30'000};

// The current job's failed runs, for the decision after the next one.
struct JobRetries {
    int jobs = 1;            // jobs taken so far
    int runs = 1;            // runs of the current job
    std::string last_error;  // its previous run's ("": one run so far)
    std::optional<base::Clock::time_point> failing_since;  // its first failure
    std::chrono::milliseconds backoff = kFirstBackoff;
};

// After a run of `job` failed with `error`: asks the servers for the job again. A new job for
// the deployment (another server took it over) runs at once. The same job runs again after a
// backoff, since a sender that has just died still owns its work until its lease runs out, so
// its servers may keep handing out its job meanwhile; while the job's sender does not answer,
// the servers are asked again after each wait instead, until one hands out another job. The
// host fails (nullopt, `why` says why) when the same job fails the same way twice while its
// sender answers, after kRunsOfOneJob runs of one job or options.same_job_patience since its
// first failure, after kReceiveJobs jobs, or when the servers have no job for it.
std::optional<Job> job_after_failure(const AgentOptions& options, const Facts& facts,
                                     ServerClient& server, base::Clock& clock, const Job& job,
                                     const std::string& error, JobRetries& retries,
                                     std::string& why) {
    why = error;
    if (!retries.failing_since) retries.failing_since = clock.now();
    log_line("imaging failed: " + error + "; asking the servers for the job again");
    for (;;) {
        HelloOutcome again = hello_until_job(options, facts, server, clock);
        if (!again.job || again.job->deployment != job.deployment) return std::nullopt;
        if (!(*again.job == job)) {
            if (retries.jobs >= kReceiveJobs) {
                why += " (" + std::to_string(kReceiveJobs) + " jobs for this deployment failed)";
                return std::nullopt;
            }
            const int jobs = retries.jobs + 1;
            retries = JobRetries();
            retries.jobs = jobs;
            log_line("a new job for deployment " + std::to_string(job.deployment) +
                     ": carrying on from what the disk holds");
            return again.job;
        }
        SenderState sender = options.probe_sender(job);
        const bool heard = sender == SenderState::unknown &&
                           job.transport == wire::Transport::multicast &&
                           multicast_sender_heard(error) == SenderState::answers;
        if (heard) sender = SenderState::answers;
        const std::string address = sender_address(job);
        const std::string sender_text =
            heard ? "its multicast sender was heard in the failed run"
                  : "its sender" + (address.empty() ? "" : " " + address) + " " + to_string(sender);
        if (sender == SenderState::answers && error == retries.last_error) {
            why += " (the same job failed the same way twice; " + sender_text + ")";
            return std::nullopt;
        }
        if (sender != SenderState::silent && retries.runs >= kRunsOfOneJob) {
            why += " (the same job failed " + std::to_string(retries.runs) + " times; " +
                   sender_text + ")";
            return std::nullopt;
        }
        auto waited =
            std::chrono::duration_cast<std::chrono::seconds>(clock.now() - *retries.failing_since);
        if (clock.now() - *retries.failing_since + retries.backoff > options.same_job_patience) {
            why += " (the servers handed out the same job for " + std::to_string(waited.count()) +
                   " s; " + sender_text + ")";
            return std::nullopt;
        }
        const auto wait = retries.backoff;
        retries.backoff = std::min(retries.backoff * 2, kMaxBackoff);
        log_line("the same job again, and " + sender_text +
                 (sender == SenderState::silent ? ": asking again in " : ": running it again in ") +
                 std::to_string(wait.count() / 1000) + " s");
        clock.sleep_for(wait);
        if (sender != SenderState::silent) {
            ++retries.runs;
            retries.last_error = error;
            return job;
        }
    }
}

}  // namespace

int run_image(const AgentOptions& options, ServerClient& server, ImagingRunner& imaging,
              base::Clock& clock) {
    Facts facts = collect_facts(options.root, options.disk);
    HelloOutcome hello = hello_until_job(options, facts, server, clock);
    if (!hello.job) return hello.exit_status;
    Job job = *hello.job;
    if (!job.token.empty()) server.set_token(job.token);  // the boot ticket is spent
    auto fail = [&](const std::string& error) {
        log_line("error: " + error);
        post_result(options, server, clock, job, false, error, json());
        return 1;
    };

    auto disk = choose_disk(job.disk, options.disk, facts);
    if (!disk) return fail(disk.status().message());
    std::string setup_error;
    ImagingOutcome outcome = receive(options, job, *disk, imaging, server, clock, setup_error);
    if (!setup_error.empty()) return fail(setup_error);
    // A transfer that broke off because its server died: the server that takes the
    // deployment over hands out a job with a sender of its own, and the transfer goes on from
    // what the disk holds (delta writes only what it lacks).
    JobRetries retries;
    while (!outcome.verified()) {
        std::string why;
        auto next =
            job_after_failure(options, facts, server, clock, job, outcome.error(), retries, why);
        if (!next) return fail(why);
        job = *next;
        outcome = receive(options, job, *disk, imaging, server, clock, setup_error);
        if (!setup_error.empty()) return fail(setup_error);
    }
    if (!outcome.verified()) return fail(outcome.error());
    log_done(outcome);
    json result = *outcome.result;
    const std::string choice = disk_choice_reason(job.disk, options.disk, facts);
    log_line("wrote " + *disk + ": " + choice);
    auto growth = options.grow_disk(*disk);
    if (!growth)
        return fail("the image is written and verified, but growing it: " +
                    growth.status().message());
    log_line(growth->reason);
    result["disk"] = *disk;
    result["disk_choice"] = choice;
    result["disk_growth"] = json{{"grown", growth->grown},
                                 {"partition", growth->partition},
                                 {"from_bytes", growth->from_bytes},
                                 {"to_bytes", growth->to_bytes},
                                 {"reason", growth->reason}};
    if (imaging::Status s = fill_seed(options, server, job, *disk); !s) {
        return fail("the image is written and verified, but " + s.message());
    }
    return post_result(options, server, clock, job, true, "", result) ? 0 : 1;
}

}  // namespace provisioner::agent
