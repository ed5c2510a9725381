#include "sender_engine.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "erasure_code.h"
#include "imaging/delivery.h"
#include "receipt.h"

namespace imaging::multicast {
namespace {

std::vector<std::uint32_t> sizes_of(const std::vector<std::span<const std::uint8_t>>& objects) {
    std::vector<std::uint32_t> sizes;
    sizes.reserve(objects.size());
    for (auto o : objects) sizes.push_back(std::uint32_t(o.size()));
    return sizes;
}

std::string format_endpoint(const Endpoint& e) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", e.address >> 24, (e.address >> 16) & 255,
                  (e.address >> 8) & 255, e.address & 255);
    return buf;
}

std::string hex_id(std::uint32_t id) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08x", id);
    return buf;
}

constexpr int kEndRepeats = 3;

}  // namespace

SenderEngine::SenderEngine(const SenderConfig& config,
                           std::vector<std::span<const std::uint8_t>> objects,
                           DatagramSocket& socket, Clock& clock, Log log)
    : config_(config),
      objects_(std::move(objects)),
      layout_(config.fragment_payload, sizes_of(objects_)),
      socket_(socket),
      clock_(clock),
      log_(std::move(log)),
      rate_(config.rate, clock.now()),
      repairs_(layout_.total()),
      started_(clock.now()),
      last_activity_(clock.now()),
      headers_(config.batch),
      parity_buffers_(config.batch, std::vector<std::uint8_t>(config.fragment_payload)) {
    batch_.reserve(config.batch);
    if (config.secret) auth_.emplace(*config.secret);
}

SenderEngine::Peer& SenderEngine::peer(std::uint32_t id, const Endpoint& from) {
    TimePoint now = clock_.now();
    last_activity_ = now;
    auto [it, inserted] = peers_.try_emplace(id);
    Peer& p = it->second;
    if (inserted) {
        p.endpoint = from;
        ++stats_.receivers_joined;
        log("receiver " + hex_id(id) + " joined from " + format_endpoint(from));
    } else if (p.dropped) {
        p.dropped = false;
        --stats_.receivers_dropped;
        log("receiver " + hex_id(id) + " is back");
    }
    p.last_heard = now;
    return p;
}

void SenderEngine::on_datagram(const InDatagram& datagram) {
    std::span<const std::uint8_t> bytes = datagram.view();
    std::optional<ControlAuth::Opened> opened;
    if (auth_) {
        // Only control is ours to hear, and control must carry a valid tag.
        if (!is_control(bytes) || !(opened = auth_->open(bytes))) {
            ++stats_.rejected;
            ++stats_.unauthenticated;
            return;
        }
        bytes = opened->datagram;
    }
    Decoded d = decode(bytes);
    if (!d.ok() || session_of(d.packet) != config_.session) {
        ++stats_.rejected;
        return;
    }
    if (auth_ && !auth_->fresh(origin_of(d.packet), opened->counter)) {
        ++stats_.rejected;
        ++stats_.unauthenticated;
        return;
    }
    if (auto* s = std::get_if<StatusReport>(&d.packet))
        on_status(*s, datagram.from);
    else if (auto* n = std::get_if<Nack>(&d.packet))
        on_nack(*n, datagram.from);
    else if (auto* r = std::get_if<Receipt>(&d.packet))
        on_receipt(*r, datagram.from);
    else if (auto* a = std::get_if<Absorb>(&d.packet))
        on_absorb(*a, datagram.from);
    // Our own kinds (ANNOUNCE, DATA, POLL, END) from someone else: ignored.
}

void SenderEngine::on_status(const StatusReport& s, const Endpoint& from) {
    if (s.receiver == 0) {
        ++stats_.rejected;
        return;
    }
    Peer& p = peer(s.receiver, from);
    // With receipts, DONE is a claim: its RECEIPT, which follows it, is the proof.
    if (s.state == ReceiverState::kDone && (!config_.receipt_secret || p.receipted))
        mark_done(s.receiver, p);
}

void SenderEngine::mark_done(std::uint32_t id, Peer& p) {
    if (p.done) return;
    p.done = true;
    ++stats_.receivers_completed;
    log("receiver " + hex_id(id) + " has the whole image");
}

void SenderEngine::on_receipt(const Receipt& r, const Endpoint& from) {
    if (!config_.receipt_secret || r.receiver == 0 || !valid_receiver_id(r.id)) {
        ++stats_.rejected;
        return;
    }
    const Secret key = receiver_key(*config_.receipt_secret, r.id);
    const Mac expected = receipt_proof(key, r.session, r.receiver, r.image_sha256, r.id);
    if (r.image_sha256 != config_.image_sha256 || !equal_tags(r.proof, expected)) {
        ++stats_.rejected;
        log("a receipt for " + r.id + " from " + format_endpoint(from) +
            " does not verify; not counted");
        return;
    }
    Peer& p = peer(r.receiver, from);
    if (!p.receipted) {
        if (config_.on_receipt)
            if (Status s = config_.on_receipt(r.id, from); !s) {
                log("receipt of " + r.id + " not recorded: " + s.message());
                return;  // unacknowledged: the receiver sends it again
            }
        p.receipted = true;
        ++stats_.receipts;
        log("receiver " + hex_id(r.receiver) + " (" + r.id + ") confirmed the image");
    }
    mark_done(r.receiver, p);
    // Every copy is answered: an acknowledgement lost on the way is replaced by the next.
    std::vector<std::uint8_t> ack = encode(ReceiptAck{config_.session, r.receiver});
    if (auth_) auth_->seal(ack);
    OutDatagram d{from, ack, {}};
    if (socket_.send(std::span<const OutDatagram>(&d, 1))) {
        ++stats_.datagrams_sent;
        stats_.bytes_sent += ack.size();
    }
}

void SenderEngine::on_nack(const Nack& n, const Endpoint& from) {
    // A NACK for a round not started yet, or for fragments that do not exist, is forged.
    if (n.receiver == 0 || n.round == 0 || n.round > round_) {
        ++stats_.rejected;
        return;
    }
    for (const Range& r : n.ranges) {
        if (std::uint64_t(r.first) + r.count > layout_.total()) {
            ++stats_.rejected;
            return;
        }
    }
    ++stats_.nacks_received;
    Peer& p = peer(n.receiver, from);
    (void)p;
    if (n.loss_permille != kNoLossSample)
        rate_.on_loss_report(n.loss_permille / 1000.0);
    else
        rate_.on_nack();
    repairs_.add(n.ranges, n.round, cursor_);
    for (const ParityRequest& q : n.parity) {
        if (q.block >= cursor_) continue;  // not sent yet: the first pass gets there
        auto [object, fragment] = layout_.locate(q.block);
        if (object == 0 || fragment % kParityBlock != 0) {
            ++stats_.rejected;
            continue;
        }
        std::uint32_t size = std::min(layout_.count(object) - fragment, kParityBlock);
        if (q.count > size) {
            ++stats_.rejected;
            continue;
        }
        if (layout_.first(object) + fragment + size > cursor_) continue;
        fec_.request(q.block, q.count, n.round);
    }
}

void SenderEngine::on_absorb(const Absorb& a, const Endpoint& from) {
    // Like a NACK's, its round must be one the sender started.
    if (a.receiver == 0 || a.round == 0 || a.round > round_) {
        ++stats_.rejected;
        return;
    }
    Peer& p = peer(a.receiver, from);
    if (a.round < p.absorb_round) return;  // overtaken by a later report
    p.absorb_bps = double(a.rate_kbps) * 1000;
    p.absorb_round = a.round;
    ++stats_.absorb_reports;
    apply_absorb_cap();
}

void SenderEngine::apply_absorb_cap() {
    if (!config_.follow_absorb) return;
    double lowest = 0;
    for (const auto& [id, p] : peers_) {
        if (p.done || p.dropped || p.absorb_round == 0 ||
            round_ - p.absorb_round >= config_.absorb_rounds)
            continue;
        if (lowest == 0 || p.absorb_bps < lowest) lowest = p.absorb_bps;
    }
    if (lowest == 0) return;
    rate_.cap(lowest);
    if (stats_.lowest_absorb_bps == 0 || lowest < stats_.lowest_absorb_bps)
        stats_.lowest_absorb_bps = lowest;
}

std::span<const std::uint8_t> SenderEngine::make_parity(std::uint32_t object, std::uint32_t block,
                                                        std::uint32_t index, std::size_t slot) {
    std::vector<std::uint8_t>& out = parity_buffers_[slot];
    std::uint32_t begin = block * kParityBlock;
    std::uint32_t end = std::min(layout_.count(object), begin + kParityBlock);
    std::array<std::span<const std::uint8_t>, kParityBlock> data;
    for (std::uint32_t f = begin; f < end; ++f)
        data[f - begin] = objects_[object].subspan(std::size_t(f) * config_.fragment_payload,
                                                   layout_.fragment_length(object, f));
    encode_repair(std::span(data.data(), end - begin), index, out);
    return out;
}

std::uint32_t SenderEngine::proactive_count(std::uint32_t block_size) const {
    double loss = rate_.steady_loss();
    // Above 25% the loss is an outlier's (a receiver far behind, a broken link): plain
    // repairs serve it; symbols sized to it would cost everyone else.
    if (!config_.proactive_fec || block_size < 2 || loss < 0.005 || loss > 0.25) return 0;
    // Mean losses in the block plus one standard deviation (binomial): covers about 85% of
    // blocks at the slowest receiver; the rest are repaired on request.
    double mean = block_size * loss;
    double want = std::ceil(mean + std::sqrt(mean * (1 - loss)));
    return std::uint32_t(std::min<double>(want, block_size / 2));
}

Status SenderEngine::send_control(std::vector<std::uint8_t> bytes) {
    if (auth_) auth_->seal(bytes);
    OutDatagram d{socket_.group(), bytes, {}};
    Status s = socket_.send(std::span<const OutDatagram>(&d, 1));
    if (!s) return s;
    ++stats_.datagrams_sent;
    stats_.bytes_sent += bytes.size();
    rate_.consume(bytes.size() + kIpUdpOverhead);
    return s;
}

Status SenderEngine::send_data_batch(TimePoint now) {
    batch_.clear();
    const std::size_t full = kDataHeaderSize + config_.fragment_payload + kIpUdpOverhead;
    while (batch_.size() < config_.batch && rate_.may_send(full, now)) {
        std::uint32_t global;
        bool repair = false;
        // While the first pass lasts, repairs take at most about half of what goes out: a
        // receiver far behind (or deaf) is served without starving everyone else.
        const bool repair_turn = cursor_ >= layout_.total() || repair_credit_ > 0;
        std::optional<std::uint32_t> r;
        if (repair_turn) r = repairs_.pop();
        std::optional<RepairSlot> slot;
        if (repair_turn && !r) slot = fec_.pop(round_);
        if (r || slot) repair_credit_ = std::max(0, repair_credit_ - 1);
        if (r) {
            global = *r;
            repair = true;
        } else if (slot) {
            auto [object, fragment] = layout_.locate(slot->block);
            Data d;
            d.session = config_.session;
            d.object = object;
            d.fragment = fragment / kParityBlock;
            d.object_size = layout_.object_size(object);
            d.parity = true;
            d.repair_index = std::uint16_t(slot->index);
            auto& header = headers_[batch_.size()];
            encode_data_header(d, header);
            batch_.push_back(
                OutDatagram{socket_.group(), header,
                            make_parity(object, d.fragment, slot->index, batch_.size())});
            rate_.consume(kDataHeaderSize + config_.fragment_payload + kIpUdpOverhead);
            ++stats_.parity_packets;
            continue;
        } else if (cursor_ < layout_.total()) {
            global = cursor_++;
            repair_credit_ = std::min(repair_credit_ + 1, kMaxRepairCredit);
        } else {
            break;
        }
        auto [object, fragment] = layout_.locate(global);
        std::uint32_t length = layout_.fragment_length(object, fragment);
        Data d;
        d.session = config_.session;
        d.object = object;
        d.fragment = fragment;
        d.object_size = layout_.object_size(object);
        auto& header = headers_[batch_.size()];
        encode_data_header(d, header);
        batch_.push_back(OutDatagram{
            socket_.group(), header,
            objects_[object].subspan(std::size_t(fragment) * config_.fragment_payload, length)});
        repairs_.note_sent(global, round_);
        rate_.consume(kDataHeaderSize + length + kIpUdpOverhead);
        ++(repair ? stats_.repair_fragments : stats_.data_fragments);
        if (!repair && object != 0 &&
            (fragment + 1 == layout_.count(object) || (fragment + 1) % kParityBlock == 0)) {
            // The block's last fragment went out: its proactive symbols follow it.
            std::uint32_t begin = fragment / kParityBlock * kParityBlock;
            std::uint32_t count = proactive_count(fragment + 1 - begin);
            fec_.add_proactive(layout_.first(object) + begin, count);
            stats_.proactive_parity += count;
        }
    }
    if (batch_.empty()) return Status::ok();
    Status s = socket_.send(batch_);
    if (!s) return s;
    stats_.datagrams_sent += batch_.size();
    for (const auto& d : batch_) stats_.bytes_sent += d.size();
    return s;
}

unsigned SenderEngine::live_peers() const {
    unsigned n = 0;
    for (const auto& [id, p] : peers_) n += !p.done && !p.dropped;
    return n;
}

void SenderEngine::expire_peers(TimePoint now) {
    for (auto& [id, p] : peers_) {
        if (p.done || p.dropped || now - p.last_heard < config_.receiver_timeout) continue;
        p.dropped = true;
        ++stats_.receivers_dropped;
        log("receiver " + hex_id(id) + " silent for " +
            std::to_string(
                std::chrono::duration_cast<std::chrono::milliseconds>(config_.receiver_timeout)
                    .count()) +
            " ms: dropped, the others go on");
    }
}

void SenderEngine::check_done(TimePoint now) {
    if (cursor_ < layout_.total() || !repairs_.empty() || !fec_.empty() || live_peers() > 0) {
        idle_since_.reset();
        return;
    }
    if (!idle_since_) idle_since_ = now;
    if (stats_.receivers_completed > 0 && now - *idle_since_ >= config_.linger) {
        for (int i = 0; i < kEndRepeats; ++i) {
            Status s = send_control(encode(End{config_.session, EndReason::kComplete}));
            if (!s) {
                error_ = s;
                return;
            }
        }
        phase_ = Phase::kDone;
        log("every live receiver has the image; session over");
        return;
    }
    // Nobody completed and nobody is left: keep offering the image for max_wait, then give up.
    if (now - last_activity_ >= config_.max_wait && now - sending_since_ >= config_.max_wait) {
        error_ = Status::error(stats_.receivers_joined == 0
                                   ? "no receiver joined the session"
                                   : "every receiver was dropped before completing");
    }
}

Status SenderEngine::tick() {
    if (finished()) return error_;
    if (!layout_.valid() || config_.fragment_payload < kMinFragmentPayload)
        // Receivers would refuse the ANNOUNCE (PROTOCOL.md): say why here rather than wait alone.
        return error_ = Status::error(
                   "cannot cut the image into at most 2^32 - 1 fragments of at least " +
                   std::to_string(kMinFragmentPayload) + " bytes (fragment payload " +
                   std::to_string(config_.fragment_payload) + ")");
    TimePoint now = clock_.now();
    if (phase_ == Phase::kRendezvous) {
        if (now >= next_announce_) {
            Announce a{config_.session, config_.fragment_payload, layout_.object_size(0),
                       layout_.total(), 0};
            if (Status s = send_control(encode(a)); !s) return error_ = s;
            next_announce_ = now + config_.announce_interval;
        }
        unsigned joined = unsigned(peers_.size());
        bool enough = config_.min_receivers > 0 && joined >= config_.min_receivers;
        if (!enough && now - started_ < config_.max_wait) return Status::ok();
        log("rendezvous over: " + std::to_string(joined) + " receiver(s); sending " +
            std::to_string(layout_.total()) + " fragments");
        phase_ = Phase::kSending;
        sending_since_ = now;
        next_announce_ = now;
        next_poll_ = now + config_.poll_interval;
        round_ = 1;
    }
    expire_peers(now);
    if (now >= next_announce_) {
        Announce a{config_.session, config_.fragment_payload, layout_.object_size(0),
                   layout_.total(), 1};
        if (Status s = send_control(encode(a)); !s) return error_ = s;
        next_announce_ = now + config_.announce_interval;
    }
    if (now >= next_poll_) {
        rate_.end_round();
        apply_absorb_cap();  // the round's growth no further than the receivers can take
        ++round_;
        Poll p{config_.session, round_, cursor_, config_.backoff_ms};
        if (Status s = send_control(encode(p)); !s) return error_ = s;
        next_poll_ = now + config_.poll_interval;
    }
    if (Status s = send_data_batch(now); !s) return error_ = s;
    stats_.rounds = round_;
    stats_.final_rate_bps = rate_.rate_bps();
    check_done(now);
    return error_;
}

Duration SenderEngine::wait_hint() {
    TimePoint now = clock_.now();
    TimePoint next =
        std::min(next_announce_, phase_ == Phase::kSending ? next_poll_ : next_announce_);
    Duration d = next > now ? next - now : Duration::zero();
    if (phase_ == Phase::kSending &&
        (!repairs_.empty() || !fec_.empty() || cursor_ < layout_.total())) {
        // Wake for a whole batch (or a bucketful), not for each datagram the rate allows:
        // below line rate one datagram per wake-up cost a system call each, and more CPU
        // than the sending itself.
        d = std::min(d, rate_.wait_for(config_.batch * (kDataHeaderSize + config_.fragment_payload +
                                                        kIpUdpOverhead),
                                       now));
    }
    return d;
}

void SenderEngine::abort() {
    for (int i = 0; i < kEndRepeats; ++i)
        (void)send_control(encode(End{config_.session, EndReason::kAborted}));
    if (error_.is_ok()) error_ = Status::error("session aborted");
}

}  // namespace imaging::multicast
