// The receiving side of a multicast session as a state machine (PROTOCOL.md): find the
// session, join, collect fragments, NACK what is missing after a random back-off unless
// other receivers already asked for it, hand complete chunks to a ChunkSink, and finish when
// every chunk verified, or fail when the sender goes silent or ends early.
//
// Single-threaded like SenderEngine: feed on_datagram(), call tick() by wait_hint().
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "chunk_sink.h"
#include "clock.h"
#include "control_auth.h"
#include "datagram_socket.h"
#include "fragment_layout.h"
#include "imaging/manifest.h"
#include "loss_tracker.h"
#include "range_set.h"

namespace imaging::multicast {

struct ReceiverConfig {
    std::uint32_t receiver_id = 1;  // random, non-zero
    Duration silence_timeout = std::chrono::seconds(15);
    Duration status_interval = std::chrono::seconds(1);
    // After completing, wait this long for the sender's END (answering POLLs with DONE);
    // 0: report DONE a few times and finish at once.
    Duration linger = Duration::zero();
    std::uint32_t renack_rounds = 8;  // forget what was asked every this many POLLs
    std::size_t max_buffered_bytes = std::size_t(512) << 20;
    // DATA for chunks that arrives while the manifest is still incomplete (one of its
    // fragments lost) is kept up to this many bytes and placed once the manifest verifies,
    // rather than dropped and asked for again.
    std::size_t max_early_bytes = std::size_t(64) << 20;
    int max_manifest_failures = 3;
    // At a POLL, a receiver whose chunk pipeline holds at least this much frame data not yet
    // verified and written (or that dropped data for lack of buffer space since the last POLL)
    // tells the sender the rate it can absorb: what its pipeline drains, times absorb_margin
    // when it is twice that far behind or dropping, so that the backlog shrinks (PROTOCOL.md,
    // ABSORB). 0: never.
    std::size_t absorb_backlog = std::size_t(16) << 20;
    double absorb_margin = 0.9;
    // An ANNOUNCE naming more fragments is not joined (counted as rejected): the receiver's
    // bookkeeping is sized by that number, which the network supplies. 2^28 fragments of
    // 1448 bytes is a 388 GB packed image, and costs 32 MiB of bitmap.
    std::uint32_t max_total_fragments = 1u << 28;
    std::uint64_t seed = 1;
    // With a secret, only tagged, fresh control datagrams are heard and ours are tagged
    // (control_auth.h); the sender's address follows its freshest tagged datagram, so a
    // replayed ANNOUNCE from another address cannot take the session's place.
    std::optional<Secret> secret;
    // Proof of receipt (PROTOCOL.md): with an id and its key, once every chunk is verified and
    // synced the receiver sends RECEIPT every receipt_interval until the sender acknowledges
    // it, or for receipt_wait at most (then it finishes unconfirmed: its result says so).
    std::string receipt_id;
    std::optional<Secret> receipt_key;
    Duration receipt_wait = std::chrono::seconds(5);
    Duration receipt_interval = std::chrono::milliseconds(200);
};

struct ReceiverStats {
    std::uint64_t packets_received = 0;  // DATA datagrams accepted
    std::uint64_t bytes_received = 0;    // their bytes
    std::uint64_t duplicates = 0;
    std::uint64_t rejected = 0;         // malformed, other sessions, or outside the layout
    std::uint64_t unauthenticated = 0;  // of those: control without a valid tag, or replayed
    std::uint64_t deferred = 0;         // dropped for lack of buffer space (asked again later)
    std::uint64_t repairs_asked = 0;    // fragments named in our NACKs
    std::uint64_t nacks_sent = 0;
    std::uint64_t nacks_suppressed = 0;
    std::uint64_t absorb_sent = 0;       // ABSORB reports: the pipeline was behind at a POLL
    std::uint64_t chunks_failed = 0;     // did not verify; received again
    std::uint64_t parity_asked = 0;      // repair symbols we asked for
    std::uint64_t parity_recovered = 0;  // fragments rebuilt from repair symbols
    std::uint64_t chunks_verified = 0;
    std::uint64_t bytes_written = 0;  // raw bytes of verified non-zero chunks
    bool delivery_confirmed = false;  // the sender acknowledged our receipt
};

// Parses the received manifest.json and checks its signature.
using ManifestCheck = std::function<Result<Manifest>(std::span<const std::uint8_t>)>;

class ReceiverEngine {
  public:
    using Log = std::function<void(const std::string&)>;
    ReceiverEngine(const ReceiverConfig& config, DatagramSocket& socket, Clock& clock,
                   ManifestCheck check, ChunkSink& sink, Log log = {});

    void on_datagram(const InDatagram& datagram);
    void tick();
    Duration wait_hint() const;

    // The image is verified (it may still be lingering for the sender's END).
    bool complete() const { return phase_ == Phase::kComplete || phase_ == Phase::kFinished; }
    bool finished() const { return phase_ == Phase::kFinished || phase_ == Phase::kFailed; }
    const Status& error() const { return error_; }
    const ReceiverStats& stats() const { return stats_; }
    const std::optional<Manifest>& manifest() const { return manifest_; }
    std::uint32_t session() const { return session_; }

  private:
    enum class Phase { kSearching, kReceiving, kComplete, kFinished, kFailed };
    enum class ObjectState : std::uint8_t { kEmpty, kAssembling, kSubmitted, kVerified };
    struct HeldRepair {
        std::uint32_t index = 0;
        std::vector<std::uint8_t> bytes;
    };
    struct Object {
        ObjectState state = ObjectState::kEmpty;
        std::uint32_t have = 0;
        std::vector<std::uint8_t> buffer;
        // Repair symbols held per block (index in the object), fewer than its missing
        // fragments; counted in buffered_ and released when the object completes.
        std::map<std::uint32_t, std::vector<HeldRepair>> repairs;
        std::size_t repair_bytes = 0;
    };

    void on_announce(const Announce& a, const Endpoint& from);
    void on_data(const Data& d, std::size_t datagram_size);
    void on_parity(const Data& d, std::size_t datagram_size);
    // Allocates an object's buffer on its first datagram; false when the buffer cap says wait.
    bool open_object(std::uint32_t object);
    void place(std::uint32_t object, std::uint32_t fragment, std::span<const std::uint8_t> bytes,
               bool recovered = false);
    // Rebuilds block `block` of `object` when it holds as many repair symbols as it misses.
    void try_rebuild(std::uint32_t object, std::uint32_t block);
    void release_repairs(Object& o);
    std::uint32_t held_repairs(std::uint32_t global_block) const;
    // [first, end) of the parity block holding global fragment g (chunk objects only).
    std::pair<std::uint32_t, std::uint32_t> block_of(std::uint32_t global) const;
    void on_poll(const Poll& p);
    void object_complete(std::uint32_t object);
    void manifest_complete();
    void replay_early();
    void collect_results();
    void send_nack();
    // Measures what the pipeline drains and, when it is behind, sends ABSORB for `round`.
    void report_absorb(std::uint32_t round);
    void send_status(ReceiverState state);
    void send_receipt();
    bool receipt_pending() const {
        return config_.receipt_key && !stats_.delivery_confirmed && clock_.now() < receipt_until_;
    }
    void send_to(const Endpoint& to, std::vector<std::uint8_t> bytes);
    void fail(const std::string& message);
    std::string progress_text() const;
    void log(const std::string& line) const {
        if (log_) log_(line);
    }

    ReceiverConfig config_;
    DatagramSocket& socket_;
    Clock& clock_;
    ManifestCheck check_;
    ChunkSink& sink_;
    Log log_;
    std::mt19937_64 random_;
    std::optional<ControlAuth> auth_;

    Phase phase_ = Phase::kSearching;
    Status error_;
    std::uint32_t session_ = 0;
    Endpoint sender_;
    Announce announce_;
    FragmentLayout layout_;
    LossTracker tracker_;
    std::vector<Object> objects_;
    std::optional<Manifest> manifest_;
    int manifest_failures_ = 0;
    std::size_t buffered_ = 0;
    std::vector<std::vector<std::uint8_t>> early_;  // whole DATA datagrams, before the manifest
    std::size_t early_bytes_ = 0;
    std::uint32_t chunks_left_ = 0;
    // The chunk pipeline: frame bytes submitted and not yet back, and the rate it drains at,
    // measured from one chunk's completion to a later one's while it never ran dry between
    // (a window in which it idled measures what arrived, not what it can do, and taking that
    // would spiral the rate down).
    std::size_t pipeline_bytes_ = 0;
    bool window_open_ = false;
    TimePoint window_start_{};
    TimePoint window_last_{};
    std::size_t window_bytes_ = 0;  // completed after window_start_, up to window_last_
    // The last few windows' rates (frame bytes a second): their highest is what it can do.
    std::array<double, 4> drain_samples_{};
    std::size_t next_drain_sample_ = 0;
    void note_drained(std::size_t bytes);
    std::uint64_t deferred_at_poll_ = 0;

    RangeSet requested_;  // asked by us or by others since the last forget
    // Repair symbols asked per block (first fragment), by us or others, since the last forget.
    std::map<std::uint32_t, std::uint32_t> parity_requested_;
    std::uint32_t high_water_ = 0;
    std::uint32_t last_round_ = 0;
    std::uint32_t polls_seen_ = 0;
    std::uint16_t loss_permille_ = kNoLossSample;  // a fresh sample, sent once
    std::optional<TimePoint> nack_at_;
    bool missing_at_poll_ = false;
    std::uint32_t nack_round_ = 0;

    TimePoint started_;
    TimePoint last_heard_;
    TimePoint next_status_{};
    TimePoint linger_until_{};
    TimePoint receipt_until_{};
    TimePoint next_receipt_{};
    ReceiverStats stats_;
};

}  // namespace imaging::multicast
