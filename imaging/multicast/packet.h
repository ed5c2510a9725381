// The multicast protocol's datagrams (PROTOCOL.md): plain structs and their wire encoding.
// Every datagram starts with the same 12-byte header (magic, version, type, session id);
// integers are big-endian. decode() checks every length against the datagram's size, so a
// datagram that decodes is well formed; whether it belongs to our session and layout is for
// the caller to check.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace imaging::multicast {

inline constexpr std::uint32_t kMagic = 0x504D4331;  // "PMC1"
inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::size_t kCommonHeaderSize = 12;
inline constexpr std::size_t kDataHeaderSize = kCommonHeaderSize + 12;
// IPv4 (20) + UDP (8): what a datagram costs on the path on top of its own bytes.
inline constexpr std::size_t kIpUdpOverhead = 28;
// Largest datagram any peer sends or accepts (jumbo frames included).
inline constexpr std::size_t kMaxDatagram = 9000;
// Smallest fragment payload a peer sends or accepts: below it an image's fragment count (and
// every receiver's bookkeeping, sized by it) grows without purpose, and can wrap 32 bits.
inline constexpr std::uint32_t kMinFragmentPayload = 256;
// Ranges and repair requests in one NACK datagram: 12 + 14 + 8 x 120 + 6 x 75 + the 24-byte
// control trailer = 1460 bytes, within a 1500-byte MTU's 1472-byte UDP payload.
inline constexpr std::size_t kMaxNackRanges = 120;
inline constexpr std::size_t kMaxNackParity = 75;
// A parity block: this many consecutive fragments of one object (aligned within the object),
// protected together by an erasure code (erasure_code.h).
inline constexpr std::uint32_t kParityBlock = 32;
// Distinct repair symbols per block: GF(2^8)'s 256 elements less the block's data positions.
inline constexpr std::uint32_t kMaxRepairIndex = 256 - kParityBlock;

enum class PacketType : std::uint8_t {
    kAnnounce = 1,
    kData = 2,
    kPoll = 3,
    kNack = 4,
    kStatus = 5,
    kEnd = 6,
    kParity = 7,
    kReceipt = 8,
    kReceiptAck = 9,
    kAbsorb = 10,
};

// Sender -> group, periodically: what the session is and how it is cut.
struct Announce {
    std::uint32_t session = 0;
    std::uint32_t fragment_payload = 0;  // bytes of object data in a full DATA datagram
    std::uint32_t manifest_size = 0;     // object 0 is the signed manifest.json
    std::uint32_t total_fragments = 0;   // over every object
    std::uint8_t sending = 0;            // 1 once data flows (rendezvous over)
};

// Sender -> group: one fragment of one object, or (parity) repair symbol `repair_index` of
// block `fragment` (fragments [fragment * kParityBlock, + kParityBlock) of the object, each
// zero-padded to the full payload size; erasure_code.h): any e distinct symbols of a block
// rebuild any e fragments a receiver misses in it. payload views the decoded datagram.
struct Data {
    std::uint32_t session = 0;
    std::uint32_t object = 0;    // 0 = manifest, i + 1 = chunk i
    std::uint32_t fragment = 0;  // index inside the object (parity: block index)
    std::uint32_t object_size = 0;
    std::span<const std::uint8_t> payload;
    bool parity = false;
    std::uint16_t repair_index = 0;  // parity only: < kMaxRepairIndex (header bytes 6-7)
};

// Sender -> group: "tell me what you miss below high_water". Starts feedback round `round`.
struct Poll {
    std::uint32_t session = 0;
    std::uint32_t round = 0;
    std::uint32_t high_water = 0;  // global fragments [0, high_water) have been sent at least once
    std::uint16_t backoff_ms = 0;  // receivers spread their NACKs over [0, backoff_ms)
};

// [first, first + count) in global fragment numbers.
struct Range {
    std::uint32_t first = 0;
    std::uint32_t count = 0;
    bool operator==(const Range&) const = default;
};

inline constexpr std::uint16_t kNoLossSample = 0xFFFF;

// "Send `count` more repair symbols of the block starting at global fragment `block`."
struct ParityRequest {
    std::uint32_t block = 0;
    std::uint16_t count = 0;  // 1..kParityBlock
    bool operator==(const ParityRequest&) const = default;
};

// Receiver -> group (so other receivers can suppress theirs): fragments it misses.
struct Nack {
    std::uint32_t session = 0;
    std::uint32_t receiver = 0;
    std::uint32_t round = 0;                      // the POLL this answers
    std::uint16_t loss_permille = kNoLossSample;  // first-pass loss over a recent window
    std::vector<Range> ranges;                    // at most kMaxNackRanges
    // Blocks (by their first global fragment) in which this receiver misses some but not all
    // fragments, and how many repair symbols it still needs there: one symbol serves every
    // receiver that misses any one fragment of the block. At most kMaxNackParity.
    std::vector<ParityRequest> parity;
};

enum class ReceiverState : std::uint8_t { kReceiving = 1, kDone = 2 };

// Receiver -> sender (unicast): join, heartbeat and completion.
struct StatusReport {
    std::uint32_t session = 0;
    std::uint32_t receiver = 0;
    ReceiverState state = ReceiverState::kReceiving;
    std::uint32_t missing = 0;  // fragments still missing (progress, for logs)
};

// Receiver -> sender (unicast), once every chunk is verified and synced: proof of receipt
// (imaging/delivery.h). proof = HMAC-SHA256(HMAC-SHA256(receipt key, "provisioner multicast
// receipt v1"), session (4, big-endian) || receiver (4, big-endian) || image_sha256 || id),
// where the receipt key is receiver_key(the sender's receipt secret, id).
inline constexpr std::size_t kMaxReceiptId = 64;
struct Receipt {
    std::uint32_t session = 0;
    std::uint32_t receiver = 0;
    std::array<std::uint8_t, 32> image_sha256{};
    std::string id;  // 1 to kMaxReceiptId bytes
    std::array<std::uint8_t, 32> proof{};
};

// Sender -> receiver (unicast): its receipt is recorded.
struct ReceiptAck {
    std::uint32_t session = 0;
    std::uint32_t receiver = 0;
};

// Receiver -> sender (unicast), answering a POLL while its chunk pipeline (decompress, verify,
// write) falls behind what arrives: the rate it can absorb. The sender paces at most at the
// lowest rate its live receivers reported in the last few rounds.
struct Absorb {
    std::uint32_t session = 0;
    std::uint32_t receiver = 0;
    std::uint32_t round = 0;        // the POLL this answers
    std::uint32_t rate_kbps = 0;    // DATA it can take, kbit/s with IP and UDP headers (>= 1)
    std::uint32_t backlog_kib = 0;  // chunk data waiting for its workers (for logs)
};

enum class EndReason : std::uint8_t { kComplete = 1, kAborted = 2 };

// Sender -> group: the session is over.
struct End {
    std::uint32_t session = 0;
    EndReason reason = EndReason::kComplete;
};

using Packet =
    std::variant<Announce, Data, Poll, Nack, StatusReport, End, Receipt, ReceiptAck, Absorb>;

enum class DecodeError {
    kNone,
    kTooShort,
    kBadMagic,
    kBadVersion,
    kBadType,
    kBadLength,
    kBadField,
};
const char* to_string(DecodeError e);

struct Decoded {
    DecodeError error = DecodeError::kNone;
    Packet packet;
    bool ok() const { return error == DecodeError::kNone; }
};

// Views into `datagram` (Data::payload) stay valid only as long as it does.
Decoded decode(std::span<const std::uint8_t> datagram);

std::vector<std::uint8_t> encode(const Announce& p);
std::vector<std::uint8_t> encode(const Poll& p);
std::vector<std::uint8_t> encode(const Nack& p);
std::vector<std::uint8_t> encode(const StatusReport& p);
std::vector<std::uint8_t> encode(const End& p);
std::vector<std::uint8_t> encode(const Receipt& p);
std::vector<std::uint8_t> encode(const ReceiptAck& p);
std::vector<std::uint8_t> encode(const Absorb& p);
// Data: the payload goes out as a second iovec, so only the header is encoded.
void encode_data_header(const Data& p, std::span<std::uint8_t, kDataHeaderSize> out);
std::vector<std::uint8_t> encode(const Data& p);  // header + payload, for tests and tools

std::uint32_t session_of(const Packet& p);

}  // namespace imaging::multicast
