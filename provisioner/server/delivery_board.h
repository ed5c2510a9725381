// What the imaging senders have confirmed delivering (imaging/delivery.h): provisionerd's side
// of their delivery logs. Each sender that proves receipts appends to its own log, a *.log file
// in one directory; poll() reads what each log there gained since the last poll, whole lines
// only (a line still being written is read at a later poll), so every delivery is returned
// exactly once. A log removed (with its sender) is forgotten.
//
// Thread-safe: the process side polls at each tick and the API side before it judges a result,
// so that a receipt acknowledged just before the agent's `result` is already known. File I/O:
// never call it under the orchestrator's lock.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "imaging/delivery.h"

namespace provisioner::server {

class DeliveryBoard {
  public:
    // dir need not exist yet.
    explicit DeliveryBoard(std::filesystem::path dir) : dir_(std::move(dir)) {}
    const std::filesystem::path& dir() const { return dir_; }
    // The deliveries appended to the logs since the last poll. A line that does not decode is
    // skipped and described in problems (a sender writes only valid lines).
    std::vector<imaging::Delivery> poll(std::vector<std::string>* problems = nullptr);

  private:
    const std::filesystem::path dir_;
    std::mutex mu_;  // guards offsets_ and serializes the reads
    std::map<std::filesystem::path, std::uint64_t> offsets_;
};

// provisionerd's receiver ids: "DEPLOYMENT/HOST" (decimal ids). parse_receiver_id is false for
// anything else.
std::string receiver_id_of(std::int64_t deployment, std::int64_t host);
bool parse_receiver_id(const std::string& id, std::int64_t& deployment, std::int64_t& host);

}  // namespace provisioner::server
