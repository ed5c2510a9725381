// Multicast wire format: every datagram kind round-trips, and malformed datagrams (short,
// bad magic/version/type, lengths that do not match, out-of-range fields) are refused.
#include <doctest/doctest.h>

#include "multicast/packet.h"

using namespace imaging::multicast;

namespace {

template <class T>
T round_trip(const T& p) {
    auto bytes = encode(p);
    Decoded d = decode(bytes);
    REQUIRE(d.ok());
    REQUIRE(std::holds_alternative<T>(d.packet));
    return std::get<T>(d.packet);
}

}  // namespace

TEST_CASE("multicast packets round-trip") {
    Announce a{0xDEADBEEF, 1448, 2783, 123456, 1};
    Announce a2 = round_trip(a);
    CHECK(a2.session == a.session);
    CHECK(a2.fragment_payload == 1448);
    CHECK(a2.manifest_size == 2783);
    CHECK(a2.total_fragments == 123456);
    CHECK(a2.sending == 1);

    Poll p{7, 42, 9999, 10};
    Poll p2 = round_trip(p);
    CHECK(p2.round == 42);
    CHECK(p2.high_water == 9999);
    CHECK(p2.backoff_ms == 10);

    Nack n;
    n.session = 7;
    n.receiver = 99;
    n.round = 3;
    n.loss_permille = 12;
    n.ranges = {{0, 5}, {100, 1}, {0xFFFF0000u, 0xFFFF}};
    n.parity = {{32, 1}, {64000, 32}};
    Nack n2 = round_trip(n);
    CHECK(n2.parity == n.parity);
    CHECK(n2.receiver == 99);
    CHECK(n2.round == 3);
    CHECK(n2.loss_permille == 12);
    CHECK(n2.ranges == n.ranges);

    StatusReport s{7, 99, ReceiverState::kDone, 17};
    StatusReport s2 = round_trip(s);
    CHECK(s2.state == ReceiverState::kDone);
    CHECK(s2.missing == 17);

    End e{7, EndReason::kAborted};
    CHECK(round_trip(e).reason == EndReason::kAborted);

    std::vector<std::uint8_t> payload{1, 2, 3, 4, 5};
    Data d{7, 3, 11, 60000, payload};
    auto bytes = encode(d);
    CHECK(bytes.size() == kDataHeaderSize + payload.size());
    Decoded dd = decode(bytes);
    REQUIRE(dd.ok());
    Data d2 = std::get<Data>(dd.packet);
    CHECK(d2.session == 7);
    CHECK(d2.object == 3);
    CHECK(d2.fragment == 11);
    CHECK(d2.object_size == 60000);
    CHECK(std::vector<std::uint8_t>(d2.payload.begin(), d2.payload.end()) == payload);
    CHECK(session_of(dd.packet) == 7);
    CHECK_FALSE(d2.parity);

    Data parity{7, 3, 2, 60000, payload, true};
    Decoded pd = decode(encode(parity));
    REQUIRE(pd.ok());
    CHECK(std::get<Data>(pd.packet).parity);
    CHECK(std::get<Data>(pd.packet).fragment == 2);
}

TEST_CASE("malformed multicast datagrams are refused") {
    auto poll = encode(Poll{7, 1, 2, 3});
    SUBCASE("short") {
        CHECK(decode(std::span(poll).first(5)).error == DecodeError::kTooShort);
        CHECK(decode({}).error == DecodeError::kTooShort);
    }
    SUBCASE("bad magic") {
        poll[0] ^= 1;
        CHECK(decode(poll).error == DecodeError::kBadMagic);
    }
    SUBCASE("bad version") {
        poll[4] = 9;
        CHECK(decode(poll).error == DecodeError::kBadVersion);
    }
    SUBCASE("unknown type") {
        poll[5] = 77;
        CHECK(decode(poll).error == DecodeError::kBadType);
    }
    SUBCASE("trailing bytes") {
        poll.push_back(0);
        CHECK(decode(poll).error == DecodeError::kBadLength);
    }
    SUBCASE("NACK whose range count does not match its length") {
        Nack n;
        n.session = 1;
        n.receiver = 2;
        n.round = 1;
        n.ranges = {{1, 2}, {5, 1}};
        auto bytes = encode(n);
        bytes.resize(bytes.size() - 4);
        CHECK(decode(bytes).error == DecodeError::kBadLength);
    }
    SUBCASE("NACK with an empty or wrapping range") {
        Nack n;
        n.session = 1;
        n.ranges = {{1, 0}};
        CHECK(decode(encode(n)).error == DecodeError::kBadField);
        n.ranges = {{0xFFFFFFF0u, 0x20}};
        CHECK(decode(encode(n)).error == DecodeError::kBadField);
    }
    SUBCASE("DATA without payload") {
        Data d{1, 1, 0, 10, {}};
        CHECK(decode(encode(d)).error == DecodeError::kBadLength);
    }
    SUBCASE("ANNOUNCE with zero sizes") {
        CHECK(decode(encode(Announce{1, 0, 10, 10, 0})).error == DecodeError::kBadField);
        CHECK(decode(encode(Announce{1, 1448, 10, 10, 2})).error == DecodeError::kBadField);
    }
    SUBCASE("STATUS and END with unknown enums") {
        auto s = encode(StatusReport{1, 2, ReceiverState::kDone, 0});
        s[16] = 9;
        CHECK(decode(s).error == DecodeError::kBadField);
        auto e = encode(End{1, EndReason::kComplete});
        e.back() = 0;
        CHECK(decode(e).error == DecodeError::kBadField);
    }
}
