// `imaging receive --progress-json` as the agent runs it: the arguments for a job, the lines it
// prints, and the process itself behind an interface so the agent flow is tested without it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imaging/status.h"
#include "provisioner/agent/job.h"

namespace provisioner::agent {

struct ReceiveTarget {
    std::string imaging;      // the imaging binary: a path, or a name searched on PATH
    std::string disk;         // "/dev/sda"
    std::string pubkey_file;  // the job's PEM written out
    std::string interface;    // multicast only: the NIC towards the server
    std::string secret_file;  // the job's secret written out (0600); empty: none
    std::string receipt_key_file = {};  // multicast: the job's receipt_key written out; "": none
    std::string peer_cert_file = {};  // torrent: the job's peer_cert written out (0600)
};

// ["imaging", "receive", "--transport", T, <T's options>, "--output", DISK, "--pubkey", FILE,
//  "--progress-json"], and "--secret-file FILE" for delta and multicast when the job has a
// secret; with a receiver_id, "--receiver-id ID" (delta, with its secret; multicast, with
// "--receipt-key-file FILE") so that the sender confirms the delivery (proof of receipt).
// Delta needs no --basis: the receiver reuses what the disk holds.
// An error when multicast has no interface.
imaging::Result<std::vector<std::string>> build_receive_argv(const Job& job,
                                                             const ReceiveTarget& target);

// One stdout line of `imaging receive --progress-json`.
struct ImagingLine {
    enum class Kind { progress, result, other };
    Kind kind = Kind::other;
    std::uint64_t bytes_done = 0, bytes_total = 0;  // progress
    nlohmann::json result;                          // result: the whole object
};
// {"progress":{"bytes_done":N,"bytes_total":M}} is progress; any other JSON object with a
// boolean "ok" is a result line; everything else is other.
ImagingLine parse_imaging_line(std::string_view line);

// What one run came to.
struct ImagingOutcome {
    int exit_status = -1;                  // -1: it could not be started
    std::optional<nlohmann::json> result;  // the last result line, if any
    std::string last_error_line;           // the last non-empty stderr line (or the start error)
    // The image was written and verified: exit 0 and a result line saying ok.
    bool verified() const;
    // One line for the server when !verified().
    std::string error() const;
};

using ProgressFunction = std::function<void(std::uint64_t bytes_done, std::uint64_t bytes_total)>;

// Abstract so the agent flow can be tested without a child process.
class ImagingRunner {
  public:
    virtual ~ImagingRunner() = default;
    // Runs argv; on_progress is called on the caller's thread for each progress line.
    virtual ImagingOutcome run(const std::vector<std::string>& argv,
                               const ProgressFunction& on_progress) = 0;
};

// Runs the real imaging tool as a child process; its stderr passes through to ours, its
// non-JSON stdout lines too (prefixed "imaging: ").
std::unique_ptr<ImagingRunner> make_child_imaging_runner();

}  // namespace provisioner::agent
