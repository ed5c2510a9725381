#include "receiver_engine.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "erasure_code.h"
#include "receipt.h"

namespace imaging::multicast {
namespace {

std::string seconds_text(Duration d) {
    return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count() / 1000.0)
               .substr(0, 4) +
           " s";
}

}  // namespace

ReceiverEngine::ReceiverEngine(const ReceiverConfig& config, DatagramSocket& socket, Clock& clock,
                               ManifestCheck check, ChunkSink& sink, Log log)
    : config_(config),
      socket_(socket),
      clock_(clock),
      check_(std::move(check)),
      sink_(sink),
      log_(std::move(log)),
      random_(config.seed),
      started_(clock.now()),
      last_heard_(clock.now()) {
    if (config.secret) auth_.emplace(*config.secret);
}

void ReceiverEngine::fail(const std::string& message) {
    if (phase_ == Phase::kFailed) return;
    phase_ = Phase::kFailed;
    error_ = Status::error(message);
}

std::string ReceiverEngine::progress_text() const {
    if (!manifest_) return "the manifest was not received";
    return std::to_string(stats_.chunks_verified) + " of " +
           std::to_string(manifest_->chunks.size()) + " chunks verified";
}

void ReceiverEngine::send_to(const Endpoint& to, std::vector<std::uint8_t> bytes) {
    if (auth_) auth_->seal(bytes);
    OutDatagram d{to, bytes, {}};
    // Feedback is best effort: a lost or failed report is sent again on the next round.
    (void)socket_.send(std::span<const OutDatagram>(&d, 1));
}

void ReceiverEngine::send_status(ReceiverState state) {
    send_to(sender_,
            encode(StatusReport{session_, config_.receiver_id, state, tracker_.missing()}));
}

void ReceiverEngine::send_receipt() {
    if (!config_.receipt_key || !manifest_) return;
    Receipt r;
    r.session = session_;
    r.receiver = config_.receiver_id;
    r.image_sha256 = manifest_->image_sha256;
    r.id = config_.receipt_id;
    r.proof = receipt_proof(*config_.receipt_key, r.session, r.receiver, r.image_sha256, r.id);
    send_to(sender_, encode(r));
    next_receipt_ = clock_.now() + config_.receipt_interval;
}

void ReceiverEngine::on_datagram(const InDatagram& datagram) {
    if (finished()) return;
    std::span<const std::uint8_t> bytes = datagram.view();
    std::optional<ControlAuth::Opened> opened;
    if (auth_ && is_control(bytes)) {
        if (!(opened = auth_->open(bytes))) {
            ++stats_.rejected;
            ++stats_.unauthenticated;
            return;
        }
        bytes = opened->datagram;
    }
    Decoded d = decode(bytes);
    if (!d.ok()) {
        ++stats_.rejected;
        return;
    }
    if (phase_ == Phase::kSearching) {
        if (auto* a = std::get_if<Announce>(&d.packet)) {
            on_announce(*a, datagram.from);
            if (opened && phase_ != Phase::kSearching) auth_->fresh(kSenderOrigin, opened->counter);
        }
        return;
    }
    if (session_of(d.packet) != session_) {
        ++stats_.rejected;
        return;
    }
    if (opened) {
        if (!auth_->fresh(origin_of(d.packet), opened->counter)) {
            ++stats_.rejected;
            ++stats_.unauthenticated;
            return;
        }
        // Only the secret's holders make a fresh tag, and a copy replayed from elsewhere is
        // never fresher than the original: the freshest sender datagram says where it is.
        if (std::holds_alternative<Announce>(d.packet) || std::holds_alternative<Poll>(d.packet) ||
            std::holds_alternative<End>(d.packet))
            sender_ = datagram.from;
    }
    // Only the sender speaks for the session; other receivers only NACK.
    bool from_sender = datagram.from == sender_;
    if (auto* data = std::get_if<Data>(&d.packet)) {
        if (!from_sender) {
            ++stats_.rejected;
            return;
        }
        last_heard_ = clock_.now();
        if (phase_ != Phase::kReceiving) return;
        if (!manifest_ && data->parity) return;
        if (!manifest_ && data->object != 0) {
            // Cannot be checked against a layout yet: keep it (bounded) for when we can.
            if (early_bytes_ + datagram.length <= config_.max_early_bytes) {
                auto bytes = datagram.view();
                early_.emplace_back(bytes.begin(), bytes.end());
                early_bytes_ += datagram.length;
            } else {
                ++stats_.deferred;
            }
            return;
        }
        if (data->parity)
            on_parity(*data, datagram.length);
        else
            on_data(*data, datagram.length);
    } else if (auto* poll = std::get_if<Poll>(&d.packet)) {
        if (!from_sender) return void(++stats_.rejected);
        last_heard_ = clock_.now();
        on_poll(*poll);
    } else if (auto* nack = std::get_if<Nack>(&d.packet)) {
        if (phase_ != Phase::kReceiving || nack->receiver == config_.receiver_id) return;
        for (const Range& r : nack->ranges) {
            if (std::uint64_t(r.first) + r.count <= tracker_.total()) requested_.add(r);
        }
        for (const ParityRequest& q : nack->parity) {
            if (q.block >= tracker_.total()) continue;
            std::uint32_t& asked = parity_requested_[q.block];
            asked = std::max<std::uint32_t>(asked, q.count);
        }
    } else if (auto* end = std::get_if<End>(&d.packet)) {
        if (!from_sender) return void(++stats_.rejected);
        if (phase_ == Phase::kComplete) {
            phase_ = Phase::kFinished;
        } else {
            fail(std::string("the sender ended the session (") +
                 (end->reason == EndReason::kAborted ? "aborted" : "complete for the others") +
                 ") before this image was complete: " + progress_text());
        }
    } else if (auto* ack = std::get_if<ReceiptAck>(&d.packet)) {
        if (!from_sender || ack->receiver != config_.receiver_id) return void(++stats_.rejected);
        if (phase_ == Phase::kComplete && config_.receipt_key && !stats_.delivery_confirmed) {
            stats_.delivery_confirmed = true;
            log("the sender confirmed the delivery");
        }
    } else if (std::holds_alternative<Announce>(d.packet)) {
        if (from_sender) last_heard_ = clock_.now();
    }
}

void ReceiverEngine::on_announce(const Announce& a, const Endpoint& from) {
    // decode() already refused a fragment payload under kMinFragmentPayload; the count is
    // checked here, before anything is sized by it.
    FragmentLayout manifest_only(a.fragment_payload, {a.manifest_size});
    if (a.fragment_payload < kMinFragmentPayload ||
        a.total_fragments > config_.max_total_fragments || !manifest_only.valid() ||
        manifest_only.total() > a.total_fragments) {
        ++stats_.rejected;
        return;
    }
    session_ = a.session;
    sender_ = from;
    announce_ = a;
    layout_ = std::move(manifest_only);
    tracker_ = LossTracker(a.total_fragments);
    objects_.assign(1, Object{});
    phase_ = Phase::kReceiving;
    last_heard_ = clock_.now();
    log("joined session " + std::to_string(a.session) + ": " + std::to_string(a.total_fragments) +
        " fragments of " + std::to_string(a.fragment_payload) + " bytes");
    send_status(ReceiverState::kReceiving);
    next_status_ = clock_.now() + config_.status_interval;
}

void ReceiverEngine::on_data(const Data& d, std::size_t datagram_size) {
    if (d.object >= layout_.objects() || d.fragment >= layout_.count(d.object) ||
        d.object_size != layout_.object_size(d.object) ||
        d.payload.size() != layout_.fragment_length(d.object, d.fragment)) {
        // Outside what we know: forged, or (before the manifest) a chunk we cannot place yet.
        if (manifest_ || d.object == 0) ++stats_.rejected;
        return;
    }
    std::uint32_t global = layout_.first(d.object) + d.fragment;
    Object& o = objects_[d.object];
    if (tracker_.has(global) || o.state == ObjectState::kSubmitted ||
        o.state == ObjectState::kVerified) {
        ++stats_.duplicates;
        return;
    }
    if (!open_object(d.object)) return;
    ++stats_.packets_received;
    stats_.bytes_received += datagram_size;
    place(d.object, d.fragment, d.payload);
    if (d.object != 0 && o.state == ObjectState::kAssembling)
        try_rebuild(d.object, d.fragment / kParityBlock);
}

bool ReceiverEngine::open_object(std::uint32_t object) {
    Object& o = objects_[object];
    if (o.state != ObjectState::kEmpty) return true;
    std::size_t size = layout_.object_size(object);
    if (buffered_ + size > config_.max_buffered_bytes) {
        ++stats_.deferred;
        return false;
    }
    if (object != 0) o.buffer = sink_.recycled_buffer();
    o.buffer.resize(size);
    buffered_ += size;
    o.state = ObjectState::kAssembling;
    o.have = 0;
    return true;
}

void ReceiverEngine::place(std::uint32_t object, std::uint32_t fragment,
                           std::span<const std::uint8_t> bytes, bool recovered) {
    Object& o = objects_[object];
    std::memcpy(o.buffer.data() + std::size_t(fragment) * layout_.fragment_payload(), bytes.data(),
                bytes.size());
    std::uint32_t global = layout_.first(object) + fragment;
    recovered ? tracker_.mark_recovered(global) : tracker_.mark(global);
    ++o.have;
    if (o.have == layout_.count(object)) object_complete(object);
}

void ReceiverEngine::release_repairs(Object& o) {
    buffered_ -= o.repair_bytes;
    o.repair_bytes = 0;
    o.repairs.clear();
}

std::uint32_t ReceiverEngine::held_repairs(std::uint32_t global_block) const {
    auto [object, fragment] = layout_.locate(global_block);
    if (object >= objects_.size()) return 0;
    const auto& repairs = objects_[object].repairs;
    auto it = repairs.find(fragment / kParityBlock);
    return it == repairs.end() ? 0 : std::uint32_t(it->second.size());
}

void ReceiverEngine::try_rebuild(std::uint32_t object, std::uint32_t block) {
    Object& o = objects_[object];
    auto held = o.repairs.find(block);
    if (held == o.repairs.end()) return;
    const std::uint32_t base = layout_.first(object);
    const std::uint32_t begin = block * kParityBlock;
    const std::uint32_t end = std::min(layout_.count(object), begin + kParityBlock);
    const std::uint32_t missing = tracker_.missing_in(base + begin, base + end);
    if (missing > held->second.size()) return;
    std::vector<HeldRepair> repairs = std::move(held->second);
    o.repairs.erase(held);
    for (const HeldRepair& r : repairs) {
        o.repair_bytes -= r.bytes.size();
        buffered_ -= r.bytes.size();
    }
    if (missing == 0) return;
    const std::size_t payload = layout_.fragment_payload();
    std::array<std::span<const std::uint8_t>, kParityBlock> data{};
    for (std::uint32_t f = begin; f < end; ++f)
        if (tracker_.has(base + f))
            data[f - begin] = std::span<const std::uint8_t>(
                o.buffer.data() + std::size_t(f) * payload, layout_.fragment_length(object, f));
    std::vector<RepairSymbol> symbols;
    for (const HeldRepair& r : repairs) symbols.push_back(RepairSymbol{r.index, r.bytes});
    auto rebuilt = decode_block(std::span(data.data(), end - begin), symbols, payload);
    if (!rebuilt) return;  // too few distinct symbols: asked again with the rest
    std::size_t next = 0;
    std::vector<std::uint32_t> lost;
    for (std::uint32_t f = begin; f < end; ++f)
        if (!tracker_.has(base + f)) lost.push_back(f);
    for (std::uint32_t f : lost) {
        std::vector<std::uint8_t>& bytes = (*rebuilt)[next++];
        bytes.resize(layout_.fragment_length(object, f));
        ++stats_.parity_recovered;
        place(object, f, bytes, true);
    }
}

std::pair<std::uint32_t, std::uint32_t> ReceiverEngine::block_of(std::uint32_t global) const {
    auto [object, fragment] = layout_.locate(global);
    std::uint32_t first = layout_.first(object) + fragment / kParityBlock * kParityBlock;
    return {first, std::min(first + kParityBlock, layout_.first(object) + layout_.count(object))};
}

void ReceiverEngine::on_parity(const Data& d, std::size_t datagram_size) {
    if (!manifest_ || d.object == 0 || d.object >= layout_.objects() ||
        d.object_size != layout_.object_size(d.object) ||
        std::uint64_t(d.fragment) * kParityBlock >= layout_.count(d.object) ||
        d.payload.size() != layout_.fragment_payload()) {
        ++stats_.rejected;
        return;
    }
    Object& o = objects_[d.object];
    auto [first, end] = block_of(layout_.first(d.object) + d.fragment * kParityBlock);
    if (o.state == ObjectState::kSubmitted || o.state == ObjectState::kVerified ||
        tracker_.missing_in(first, end) == 0) {
        ++stats_.duplicates;
        return;
    }
    if (!open_object(d.object)) return;
    auto& held = o.repairs[d.fragment];
    for (const HeldRepair& r : held) {
        if (r.index == d.repair_index || held.size() >= kParityBlock) {
            ++stats_.duplicates;
            return;
        }
    }
    ++stats_.packets_received;
    stats_.bytes_received += datagram_size;
    held.push_back(HeldRepair{d.repair_index, {d.payload.begin(), d.payload.end()}});
    o.repair_bytes += d.payload.size();
    buffered_ += d.payload.size();
    try_rebuild(d.object, d.fragment);
}

void ReceiverEngine::object_complete(std::uint32_t object) {
    if (object == 0) return manifest_complete();
    Object& o = objects_[object];
    release_repairs(o);
    o.state = ObjectState::kSubmitted;
    pipeline_bytes_ += layout_.object_size(object);
    sink_.submit(object - 1, std::move(o.buffer));
    o.buffer = {};
}

void ReceiverEngine::manifest_complete() {
    Object& o = objects_[0];
    Result<Manifest> m = check_(o.buffer);
    std::string problem;
    if (m) {
        std::vector<std::uint32_t> sizes{announce_.manifest_size};
        for (const ChunkEntry& c : m->chunks) sizes.push_back(c.pack_size);
        FragmentLayout full(announce_.fragment_payload, std::move(sizes));
        if (!full.valid()) {
            problem = "the image's fragment count overflows 32 bits at " +
                      std::to_string(announce_.fragment_payload) + "-byte fragments";
        } else if (full.total() != announce_.total_fragments) {
            problem = "the manifest does not match the session's announcement";
        } else {
            layout_ = std::move(full);
        }
    } else {
        problem = m.status().message();
    }
    if (!problem.empty()) {
        // Possibly forged fragments: drop them all and ask again, a few times.
        tracker_.forget(0, layout_.count(0));
        buffered_ -= o.buffer.size();
        o = Object{};
        if (++manifest_failures_ >= config_.max_manifest_failures) {
            fail("the session's manifest was rejected " + std::to_string(manifest_failures_) +
                 " times: " + problem);
        } else {
            log("manifest rejected (" + problem + "); asking for it again");
        }
        return;
    }
    buffered_ -= o.buffer.size();
    o.buffer = {};
    o.state = ObjectState::kVerified;
    manifest_ = std::move(m.value());
    if (Status s = sink_.prepare(*manifest_); !s) return fail(s.message());
    objects_.resize(layout_.objects());
    chunks_left_ = std::uint32_t(manifest_->chunks.size());
    for (std::uint32_t i = 0; i < manifest_->chunks.size(); ++i) {
        if (!manifest_->chunks[i].is_zero()) continue;
        objects_[i + 1].state = ObjectState::kSubmitted;
        sink_.submit_zero(i);
    }
    log("manifest verified: " + manifest_->name + " " + manifest_->version + ", " +
        std::to_string(manifest_->chunks.size()) + " chunks");
    replay_early();
}

void ReceiverEngine::replay_early() {
    auto early = std::exchange(early_, {});
    early_bytes_ = 0;
    for (const auto& bytes : early) {
        Decoded d = decode(bytes);
        if (d.ok() && std::holds_alternative<Data>(d.packet) && !finished())
            on_data(std::get<Data>(d.packet), bytes.size());
    }
}

void ReceiverEngine::collect_results() {
    for (ChunkResult& r : sink_.take_results()) {
        std::uint32_t object = r.chunk + 1;
        if (!manifest_ || object >= objects_.size()) continue;
        Object& o = objects_[object];
        if (o.state != ObjectState::kSubmitted) continue;
        const ChunkEntry& entry = manifest_->chunks[r.chunk];
        if (!entry.is_zero()) {
            buffered_ -= entry.pack_size;
            pipeline_bytes_ -= entry.pack_size;
            note_drained(entry.pack_size);
        }
        if (r.status) {
            o.state = ObjectState::kVerified;
            ++stats_.chunks_verified;
            if (!entry.is_zero()) stats_.bytes_written += manifest_->chunk_length(r.chunk);
            --chunks_left_;
            continue;
        }
        if (r.fatal || entry.is_zero()) return fail(r.status.message());
        ++stats_.chunks_failed;
        log("chunk " + std::to_string(r.chunk) + " rejected (" + r.status.message() +
            "); receiving it again");
        tracker_.forget(layout_.first(object), layout_.count(object));
        requested_.remove(Range{layout_.first(object), layout_.count(object)});
        o = Object{};
    }
    if (phase_ == Phase::kReceiving && manifest_ && chunks_left_ == 0) {
        if (Status s = sink_.finish(); !s) return fail(s.message());
        if (nack_at_ && missing_at_poll_) ++stats_.nacks_suppressed;  // repaired before our turn
        nack_at_.reset();
        phase_ = Phase::kComplete;
        linger_until_ = clock_.now() + config_.linger;
        log("every chunk verified");
        // Unicast and unanswered: a few copies, so one lost datagram does not leave the
        // sender waiting for --receiver-timeout.
        for (int i = 0; i < 3; ++i) send_status(ReceiverState::kDone);
        receipt_until_ = clock_.now() + config_.receipt_wait;
        send_receipt();
        if (config_.linger == Duration::zero() && !receipt_pending()) phase_ = Phase::kFinished;
    }
}

void ReceiverEngine::on_poll(const Poll& p) {
    if (p.round <= last_round_ || p.high_water > tracker_.total()) return;
    last_round_ = p.round;
    if (phase_ == Phase::kComplete) {
        if (receipt_pending()) send_receipt();
        return send_status(ReceiverState::kDone);
    }
    if (phase_ != Phase::kReceiving) return;
    if (auto sample = tracker_.loss_sample(p.high_water)) loss_permille_ = *sample;
    high_water_ = p.high_water;
    report_absorb(p.round);
    if (++polls_seen_ % config_.renack_rounds == 0) {
        requested_.clear();
        parity_requested_.clear();
    }
    std::uniform_int_distribution<std::int64_t> jitter(0, std::int64_t(p.backoff_ms) * 1000000);
    nack_at_ = clock_.now() + Duration(jitter(random_));
    std::uint32_t limit = manifest_ ? high_water_ : std::min(high_water_, layout_.total());
    missing_at_poll_ = !tracker_.missing_ranges(limit, requested_, 1).empty();
    nack_round_ = p.round;
}

void ReceiverEngine::note_drained(std::size_t bytes) {
    const TimePoint now = clock_.now();
    if (!window_open_) {
        // This completion starts a window; its own bytes were worked on before it.
        window_open_ = true;
        window_start_ = window_last_ = now;
        window_bytes_ = 0;
    } else {
        window_bytes_ += bytes;
        window_last_ = now;
    }
    // Ran dry: the workers wait for the network from here, so the window ends.
    if (pipeline_bytes_ == 0) window_open_ = false;
}

void ReceiverEngine::report_absorb(std::uint32_t round) {
    if (config_.absorb_backlog == 0 || !manifest_) return;
    constexpr Duration kMinWindow = std::chrono::milliseconds(20);
    if (window_last_ - window_start_ >= kMinWindow && window_bytes_ > 0) {
        const double seconds = std::chrono::duration<double>(window_last_ - window_start_).count();
        drain_samples_[next_drain_sample_] = double(window_bytes_) / seconds;
        next_drain_sample_ = (next_drain_sample_ + 1) % drain_samples_.size();
        window_start_ = window_last_;  // the next window starts at the last completion seen
        window_bytes_ = 0;
    }
    const bool deferred = stats_.deferred > deferred_at_poll_;
    deferred_at_poll_ = stats_.deferred;
    const double drain = *std::max_element(drain_samples_.begin(), drain_samples_.end());
    if ((pipeline_bytes_ < config_.absorb_backlog && !deferred) || drain <= 0) return;
    // Far behind (twice the threshold, or dropping): ask for less than it drains, so that the
    // backlog shrinks; else for what it drains, so that the backlog holds.
    const bool far = deferred || pipeline_bytes_ >= 2 * config_.absorb_backlog;
    // Frame bytes a second to what the sender's rate counts: DATA datagrams with their
    // headers, IP and UDP included.
    const double payload = layout_.fragment_payload();
    const double bps = drain * 8 * (far ? config_.absorb_margin : 1.0) *
                       (payload + double(kDataHeaderSize + kIpUdpOverhead)) / payload;
    Absorb a;
    a.session = session_;
    a.receiver = config_.receiver_id;
    a.round = round;
    a.rate_kbps = std::uint32_t(std::clamp(bps / 1000, 1.0, 4e9));
    a.backlog_kib = std::uint32_t(std::min<std::size_t>(pipeline_bytes_ >> 10, 0xFFFFFFFFu));
    send_to(sender_, encode(a));
    ++stats_.absorb_sent;
}

void ReceiverEngine::send_nack() {
    nack_at_.reset();
    constexpr std::size_t kMaxDatagramsPerRound = 4;
    // Until the manifest verifies, ask only for it: chunk data heard meanwhile is kept in
    // early_, and is not marked in the tracker yet.
    std::uint32_t limit = manifest_ ? high_water_ : std::min(high_water_, layout_.total());
    std::vector<Range> candidates =
        tracker_.missing_ranges(limit, requested_, kMaxNackRanges * kMaxDatagramsPerRound);
    // A chunk block in which we miss some but not all fragments asks for repair symbols
    // (as many as it misses, less those held): any symbol serves every receiver that misses
    // any one fragment of the block. A block missing whole (a late joiner's) is asked plainly.
    std::vector<Range> missing;
    std::vector<ParityRequest> parity;
    auto add_plain = [&](Range r) {
        if (!missing.empty() && missing.back().first + missing.back().count == r.first)
            missing.back().count += r.count;
        else
            missing.push_back(r);
    };
    std::uint32_t last_block = 0xFFFFFFFFu;
    for (const Range& r : candidates) {
        if (!manifest_ || layout_.locate(r.first).first == 0) {
            add_plain(r);
            continue;
        }
        for (std::uint32_t g = r.first; g < r.first + r.count;) {
            auto [first, end] = block_of(g);
            std::uint32_t piece_end = std::min(end, r.first + r.count);
            std::uint32_t lost = tracker_.missing_in(first, end);
            if (end - first < 2 || lost == end - first) {
                add_plain(Range{g, piece_end - g});
            } else if (first != last_block &&
                       parity.size() < kMaxNackParity * kMaxDatagramsPerRound) {
                last_block = first;
                std::uint32_t held = held_repairs(first);
                std::uint32_t need = lost > held ? lost - held : 0;
                auto asked = parity_requested_.find(first);
                if (need > 0 && (asked == parity_requested_.end() || asked->second < need))
                    parity.push_back(ParityRequest{first, std::uint16_t(need)});
            }
            g = piece_end;
        }
    }
    if (missing.empty() && parity.empty()) {
        // Others asked for everything we missed, or the repairs already came.
        if (missing_at_poll_) ++stats_.nacks_suppressed;
        return;
    }
    std::size_t ranges_done = 0, parity_done = 0;
    while (ranges_done < missing.size() || parity_done < parity.size()) {
        Nack n;
        n.session = session_;
        n.receiver = config_.receiver_id;
        n.round = nack_round_;
        n.loss_permille = std::exchange(loss_permille_, kNoLossSample);
        std::size_t r_end = std::min(missing.size(), ranges_done + kMaxNackRanges);
        n.ranges.assign(missing.begin() + std::ptrdiff_t(ranges_done),
                        missing.begin() + std::ptrdiff_t(r_end));
        ranges_done = r_end;
        std::size_t p_end = std::min(parity.size(), parity_done + kMaxNackParity);
        n.parity.assign(parity.begin() + std::ptrdiff_t(parity_done),
                        parity.begin() + std::ptrdiff_t(p_end));
        parity_done = p_end;
        for (const Range& r : n.ranges) {
            requested_.add(r);
            stats_.repairs_asked += r.count;
        }
        for (const ParityRequest& q : n.parity) {
            std::uint32_t& asked = parity_requested_[q.block];
            asked = std::max<std::uint32_t>(asked, q.count);
            stats_.repairs_asked += q.count;
            stats_.parity_asked += q.count;
        }
        send_to(socket_.group(), encode(n));
        ++stats_.nacks_sent;
    }
}

void ReceiverEngine::tick() {
    if (finished()) return;
    TimePoint now = clock_.now();
    if (phase_ == Phase::kReceiving || phase_ == Phase::kComplete) collect_results();
    if (finished()) return;
    if (phase_ == Phase::kComplete) {
        if (receipt_pending()) {
            if (now >= next_receipt_) send_receipt();
            return;
        }
        if (now >= linger_until_) phase_ = Phase::kFinished;
        return;
    }
    if (now - last_heard_ >= config_.silence_timeout) {
        if (phase_ == Phase::kSearching)
            return fail("no multicast session heard within " +
                        seconds_text(config_.silence_timeout));
        return fail("the sender has been silent for " + seconds_text(config_.silence_timeout) +
                    "; the image is incomplete: " + progress_text());
    }
    if (phase_ != Phase::kReceiving) return;
    if (nack_at_ && now >= *nack_at_) send_nack();
    if (now >= next_status_) {
        send_status(ReceiverState::kReceiving);
        next_status_ = now + config_.status_interval;
    }
}

Duration ReceiverEngine::wait_hint() const {
    TimePoint now = clock_.now();
    Duration d = std::chrono::milliseconds(5);  // results from the sink are polled this often
    if (nack_at_) d = std::min(d, *nack_at_ > now ? *nack_at_ - now : Duration::zero());
    return d;
}

}  // namespace imaging::multicast
