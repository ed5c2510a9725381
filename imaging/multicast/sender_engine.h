// The sending side of a multicast session as a state machine (PROTOCOL.md): rendezvous,
// first pass, NACK-driven repair (a demand-driven carousel: whatever any receiver, late or
// restarted, still misses is sent again), receiver liveness, end of session.
//
// Single-threaded: the caller feeds it datagrams (on_datagram) and calls tick() at least by
// wait_hint(); every time comes from the Clock, every datagram goes through the socket, so
// tests drive it deterministically over a fake network. `objects` (0 = manifest, i + 1 = the
// zstd frame of chunk i) must outlive the engine.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "clock.h"
#include "control_auth.h"
#include "datagram_socket.h"
#include "fec_queue.h"
#include "fragment_layout.h"
#include "rate_controller.h"
#include "repair_queue.h"

namespace imaging::multicast {

struct SenderConfig {
    std::uint32_t session = 1;
    std::uint32_t fragment_payload = 1448;
    unsigned min_receivers = 1;
    Duration max_wait = std::chrono::seconds(30);
    Duration receiver_timeout = std::chrono::seconds(5);
    Duration announce_interval = std::chrono::milliseconds(100);
    // Once every receiver is done, keep offering the image this long for late joiners.
    Duration linger = Duration::zero();
    Duration poll_interval = std::chrono::milliseconds(25);
    std::uint16_t backoff_ms = 10;
    std::size_t batch = 64;
    RateConfig rate;
    // Proactive FEC: once receivers report a steady loss, each block's first pass is followed
    // by enough repair symbols to cover that loss for most blocks (PROTOCOL.md, "Repair").
    bool proactive_fec = true;
    // Pace at most at what the slowest live receiver reported it can absorb (ABSORB) in the
    // last absorb_rounds rounds (PROTOCOL.md, "Rate control").
    bool follow_absorb = true;
    std::uint32_t absorb_rounds = 3;
    // With a secret, control datagrams are tagged and only tagged, fresh ones are heard
    // (control_auth.h); without one, the session is open as in version 1.
    std::optional<Secret> secret;
    // Proof of receipt (PROTOCOL.md): with a receipt secret, a receiver counts as done only
    // once its RECEIPT verifies, under receiver_key(receipt_secret, its id), for this image;
    // on_receipt records it (an error: not acknowledged, the receiver asks again) before the
    // sender answers RECEIPT_ACK.
    std::optional<Secret> receipt_secret;
    std::array<std::uint8_t, 32> image_sha256{};
    std::function<Status(const std::string& id, const Endpoint& from)> on_receipt;
};

struct SenderStats {
    std::uint64_t datagrams_sent = 0;
    std::uint64_t bytes_sent = 0;  // UDP payload bytes of every datagram
    std::uint64_t data_fragments = 0;
    std::uint64_t repair_fragments = 0;
    std::uint64_t parity_packets = 0;    // repair symbols, on request and proactive
    std::uint64_t proactive_parity = 0;  // of those: proactive
    std::uint64_t nacks_received = 0;
    std::uint64_t absorb_reports = 0;   // ABSORBs heard: a receiver's pipeline fell behind
    double lowest_absorb_bps = 0;       // the lowest rate a receiver said it could take (0: none)
    std::uint64_t rejected = 0;         // datagrams that did not decode or were not ours
    std::uint64_t unauthenticated = 0;  // of those: no valid tag, or a replayed counter
    unsigned receivers_joined = 0;
    unsigned receivers_completed = 0;
    unsigned receipts = 0;  // receivers whose receipt verified and was recorded
    unsigned receivers_dropped = 0;
    std::uint32_t rounds = 0;
    double final_rate_bps = 0;
};

class SenderEngine {
  public:
    using Log = std::function<void(const std::string&)>;
    SenderEngine(const SenderConfig& config, std::vector<std::span<const std::uint8_t>> objects,
                 DatagramSocket& socket, Clock& clock, Log log = {});

    void on_datagram(const InDatagram& datagram);
    // Sends what is due. An error (the socket failed, nobody to send to) ends the session.
    Status tick();
    // How long the caller may wait for datagrams before calling tick() again.
    Duration wait_hint();
    // Sends END(aborted) a few times: for a sender told to stop.
    void abort();

    bool finished() const { return phase_ == Phase::kDone || !error_.is_ok(); }
    const Status& error() const { return error_; }
    const SenderStats& stats() const { return stats_; }
    const FragmentLayout& layout() const { return layout_; }

  private:
    enum class Phase { kRendezvous, kSending, kDone };
    struct Peer {
        Endpoint endpoint;
        TimePoint last_heard;
        bool done = false;
        bool dropped = false;
        bool receipted = false;
        double absorb_bps = 0;           // what it last said it can absorb
        std::uint32_t absorb_round = 0;  // in answer to which POLL (0: never)
    };

    void on_status(const StatusReport& s, const Endpoint& from);
    void on_nack(const Nack& n, const Endpoint& from);
    void on_receipt(const Receipt& r, const Endpoint& from);
    void on_absorb(const Absorb& a, const Endpoint& from);
    // Caps the rate at the lowest recent ABSORB of a live receiver.
    void apply_absorb_cap();
    void mark_done(std::uint32_t id, Peer& p);
    Peer& peer(std::uint32_t id, const Endpoint& from);
    Status send_control(std::vector<std::uint8_t> bytes);
    Status send_data_batch(TimePoint now);
    std::span<const std::uint8_t> make_parity(std::uint32_t object, std::uint32_t block,
                                              std::uint32_t index, std::size_t slot);
    // Repair symbols to follow each block's first pass, from the steady loss reported.
    std::uint32_t proactive_count(std::uint32_t block_size) const;
    void expire_peers(TimePoint now);
    void check_done(TimePoint now);
    unsigned live_peers() const;
    void log(const std::string& line) const {
        if (log_) log_(line);
    }

    SenderConfig config_;
    std::vector<std::span<const std::uint8_t>> objects_;
    FragmentLayout layout_;
    DatagramSocket& socket_;
    Clock& clock_;
    Log log_;
    RateController rate_;
    RepairQueue repairs_;
    FecQueue fec_;  // repair symbols owed, per block (by its first global fragment)
    std::optional<ControlAuth> auth_;

    Phase phase_ = Phase::kRendezvous;
    Status error_;
    TimePoint started_;
    TimePoint sending_since_{};
    TimePoint last_activity_{};
    std::optional<TimePoint> idle_since_;  // every receiver done, lingering
    TimePoint next_announce_{};
    TimePoint next_poll_{};
    std::uint32_t round_ = 0;
    std::uint32_t cursor_ = 0;  // next first-pass fragment; [0, cursor_) sent at least once
    // Repairs that may go before the next first-pass fragment (one per fragment sent).
    static constexpr int kMaxRepairCredit = 256;
    int repair_credit_ = kMaxRepairCredit;
    std::map<std::uint32_t, Peer> peers_;
    SenderStats stats_;
    std::vector<std::array<std::uint8_t, kDataHeaderSize>> headers_;
    std::vector<OutDatagram> batch_;
    std::vector<std::vector<std::uint8_t>> parity_buffers_;  // one per batch slot
};

}  // namespace imaging::multicast
