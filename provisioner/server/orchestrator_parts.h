// The Orchestrator's private records, shared by its API side (orchestrator.cc) and its process
// side (orchestrator_tick.cc). Sender, Target and Active are guarded by Orchestrator::mu_;
// ChildSpec and ChildReport carry the process side's decisions and observations across it;
// Child belongs to the process thread alone.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "imaging/delivery.h"
#include "orchestrator.h"
#include "swarm_credentials.h"

namespace provisioner::server {

// A clock reading as a count, for the atomic that tick_age() reads.
inline std::int64_t nanoseconds_of(base::Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// STATE/secrets, made owner-only (0700) if it is not: where every secret file, seed certificate
// and session key of the orchestrator's children is written. Errors show when the file is.
inline std::filesystem::path secrets_dir(const std::filesystem::path& state_dir) {
    std::filesystem::path dir = state_dir / "secrets";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
    return dir;
}

// A child process serving one deployment (multicast, torrent) or one image (delta), as the
// API side sees it: its port and secret, and whether it ran at the last tick.
struct Orchestrator::Sender {
    std::uint64_t child = 0;  // its key in children_
    std::string name;         // in log lines: "delta server for dom0@2"
    // A delta server's and a seed's command; a multicast sender's is made at each tick, so that
    // --min-receivers follows the hosts left.
    std::vector<std::string> argv;
    std::optional<int> pid;  // running at the last tick
    bool listening = false;  // a delta server: accepted a connection since it started
    PortLease port;          // it listens on (seed, delta server) or sends to (multicast)
    // Authenticates its peers (--secret-file): a delta server of an image, shared by every
    // deployment of that image, has its own, handed in each of their jobs; a multicast sender
    // has its deployment's. The file lives as long as the sender: destroy a Sender outside mu_.
    std::optional<imaging::Secret> secret;
    std::filesystem::path secret_file;
    // Proof of receipt (imaging/delivery.h): where it records the receivers it confirmed
    // (--delivery-log, in the DeliveryBoard's directory), and the master of its receivers'
    // keys: a delta server of an image uses its secret; a multicast sender has its own
    // (--receipt-secret-file), since every receiver holds the session's.
    std::filesystem::path delivery_log;
    std::optional<imaging::Secret> receipt_secret;
    std::filesystem::path receipt_secret_file;
    // Which secret the receivers' keys derive from; nullopt: this sender confirms nothing.
    const std::optional<imaging::Secret>& receipt_master() const {
        return receipt_secret ? receipt_secret : secret;
    }
    ~Sender() {
        std::error_code ec;
        for (const auto* file : {&secret_file, &delivery_log, &receipt_secret_file})
            if (!file->empty()) std::filesystem::remove(*file, ec);
    }
};

struct Orchestrator::Target {
    Host host;
    TargetState state = TargetState::pending;
    std::uint64_t done = 0;
    std::uint64_t total = 0;
    bool dirty = false;
    base::Clock::time_point flushed_at{};
    // Proof of receipt: what the sender confirmed delivering to this host, and an ok result
    // that waits for it (held_reason: what its success will say).
    std::optional<imaging::Delivery> delivery;
    std::string delivered_by;  // the rack server that confirmed it; "": this server
    bool held = false;
    std::string held_reason;
    // Taken over from a dead server (orchestrator_takeover.cc) and no progress since.
    bool adopted = false;
    // The rack server a delta job sent it to (per-rack imaging): a hello after that (its
    // transfer broke off) gets this server's own delta server instead.
    std::string rack_server;
    // It asked again after that (its transfer from the rack server broke off).
    bool rack_left = false;
};

// A rack server's multicast sender of its copy, for another server's deployment.
struct Orchestrator::RackSession {
    std::unique_ptr<Sender> sender;
    Image image;
    std::string group;
    std::set<HostId> hosts;  // the unfinished hosts of its racks, as the store says
};

// A rack server's `imaging seed` of its copy for another server's torrent deployment; the
// torrent file it reads is removed when it stops (the certificate with its Sender).
struct Orchestrator::RackSeed {
    std::unique_ptr<Sender> sender;
    std::filesystem::path torrent_file;
    std::string info_hash_hex;
    std::set<std::string> racks;
    std::set<HostId> hosts;
};

struct Orchestrator::Active {
    Deployment record;
    Image image;
    std::map<HostId, Target> targets;
    base::Clock::time_point started_at{};  // by the orchestrator's clock
    std::string taken_from;                // the dead owner it was taken over from, if so
    std::unique_ptr<Sender> sender;        // multicast and torrent; delta uses delta_servers_
    // Multicast: its sender runs once a host needs it (not every host goes to a rack server's
    // session), and from then on.
    bool own_session_wanted = false;
    std::string group;  // multicast
    std::optional<std::string> torrent;
    std::string info_hash;            // the torrent's, allowed by the tracker while it runs
    std::uint64_t torrent_maker = 0;  // the child key of `imaging torrent` hashing the image
    std::filesystem::path torrent_file;
    bool torrent_failed = false;
    // The swarm's CA certificate (in the torrent) and the hosts' certificates (in their jobs);
    // the seed's is its Sender's secret_file.
    std::optional<SwarmCredentials> swarm;
    std::filesystem::path torrent_ca_file() const {
        return std::filesystem::path(torrent_file).replace_extension(".ca.pem");
    }

    std::size_t unfinished() const {
        std::size_t n = 0;
        for (const auto& [_, t] : targets)
            n += t.state == TargetState::pending || t.state == TargetState::running;
        return n;
    }
};

// A child that should run now, as decided under mu_.
struct Orchestrator::ChildSpec {
    std::uint64_t key = 0;
    std::string name;
    std::vector<std::string> argv;
    bool job = false;                  // run once (`imaging torrent`), else kept running
    std::filesystem::path job_output;  // a job's file, read once it exits 0
    std::uint16_t probe_port = 0;      // a delta server: probed until it accepts connections
    // A job's input, written before it starts (the swarm CA's certificate for the torrent maker).
    std::filesystem::path input_file = {};
    std::string input_text = {};
};

// What the process side saw of a wanted child, published under mu_.
struct Orchestrator::ChildReport {
    std::uint64_t key = 0;
    std::string name;
    std::optional<int> pid;
    bool listening = false;
    int quick_deaths = 0;
    std::string last_exit;
    // A job that ended (or could not start): ok with its output, or why not.
    bool job_done = false;
    bool job_ok = false;
    std::string job_output;
    std::string job_error;
    std::string info_hash;  // a torrent job's, read back from its output; "" when it does not
};

// The process thread's view of one child.
struct Orchestrator::Child {
    std::unique_ptr<pxe::Supervisor> supervisor;
    std::optional<int> probed_pid;  // the pid the listening probe concerns
    bool listening = false;
};

}  // namespace provisioner::server
