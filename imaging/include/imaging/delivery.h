// Proof of receipt: a sender's record that it delivered its image to one identified receiver.
//
// A receiver is identified by a receiver id (1 to 64 characters of [A-Za-z0-9._:/-]; in
// provisionerd "DEPLOYMENT/HOST") and proves it by a key that only it and its sender hold:
// receiver_key(master, id), derived from a master secret the sender keeps to itself (a delta
// server's own secret; a multicast sender's receipt secret). Whoever hands out receiver keys
// (provisionerd, in each host's job) never hands out the master, so one receiver's key is no
// good for another id.
//
// The sender appends one line per confirmed receiver to its delivery log (a JSON object per
// line, written whole by one write() on an O_APPEND file, 0600), which the party that started
// it (provisionerd) reads to learn which receivers got the image. Each transport's PROTOCOL.md
// says what it takes for a sender to confirm.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "imaging/secret.h"
#include "imaging/status.h"

namespace imaging {

struct Delivery {
    std::string receiver;      // the receiver id it proved
    std::string transport;     // "delta" or "multicast"
    std::string image_sha256;  // of the image delivered (hex), as the receiver verified it
    std::string peer;          // the address the receipt came from
    std::uint64_t chunks_sent = 0;   // chunk answers sent to this receiver (delta); 0: not counted
    std::uint64_t chunks_total = 0;  // chunks in the image
    std::uint64_t bytes_sent = 0;    // to this receiver (delta); 0: not counted (multicast)
};

inline constexpr std::size_t kMaxReceiverId = 64;
bool valid_receiver_id(std::string_view id);
// HMAC-SHA256(master, "provisioner receiver v1:" || id).
Secret receiver_key(const Secret& master, std::string_view id);

// One line, no newline.
std::string encode_delivery(const Delivery& d);
// Refuses a line that is not such an object (bounded: 4 KiB, flat), or whose receiver id is
// not valid.
Result<Delivery> decode_delivery(std::string_view line);

// The sender's side. Thread-safe; append() returns once the line is written and synced.
class DeliveryLog {
public:
    static Result<std::unique_ptr<DeliveryLog>> open(const std::filesystem::path& path);
    ~DeliveryLog();
    DeliveryLog(const DeliveryLog&) = delete;
    DeliveryLog& operator=(const DeliveryLog&) = delete;
    Status append(const Delivery& d);

private:
    DeliveryLog(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
    std::mutex mu_;
    int fd_;
    std::filesystem::path path_;
};

}  // namespace imaging
