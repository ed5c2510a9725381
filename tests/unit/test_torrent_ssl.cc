// SSL torrents: a swarm only peers certified by its CA may join. The checks on credentials, and
// a real libtorrent swarm on loopback (seed, tracker, receivers) where a client with another
// CA's certificate and a client without TLS get no piece, and a certified host gets the image.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/torrent_status.hpp>
#include <thread>

#include "imaging/pack.h"
#include "imaging/torrent/image_torrent.h"
#include "imaging/torrent/peer_certs.h"
#include "imaging/torrent/receiver.h"
#include "imaging/torrent/seeder.h"
#include "imaging/torrent/ssl_peers.h"
#include "imaging/torrent/tracker_server.h"
#include "test_util.h"

namespace {

using namespace imaging;
using namespace imaging::torrent;

struct SwarmFixture {
    testutil::TempDir dir;
    std::vector<std::uint8_t> raw;
    PeerCredentials ca, other_ca, seed, host, stranger;
    SwarmFixture() {
        REQUIRE(generate_keypair(dir / "k"));
        raw = testutil::random_bytes(5 << 16, 23);
        raw.resize(6 << 16, 0);
        testutil::write_file(dir / "disk.raw", raw);
        auto key = SigningKey::load(dir / "k.key");
        REQUIRE(key);
        PackOptions options;
        options.chunk_size = 1 << 16;
        REQUIRE(pack_image(dir / "disk.raw", dir / "img", *key, options));
        auto made = make_swarm_ca("deployment 1");
        auto made_other = make_swarm_ca("deployment 2");
        REQUIRE(made);
        REQUIRE(made_other);
        ca = *made;
        other_ca = *made_other;
        auto s = issue_peer_cert(ca, "seed");
        auto h = issue_peer_cert(ca, "host-1");
        auto x = issue_peer_cert(other_ca, "host-1");
        REQUIRE(s);
        REQUIRE(h);
        REQUIRE(x);
        seed = *s;
        host = *h;
        stranger = *x;
    }
    ImageTorrent torrent(const std::string& tracker, const std::string& ca_pem) {
        auto bytes = make_image_torrent(
            dir / "img", {.trackers = {tracker}, .piece_size = 16 << 10, .ca_cert_pem = ca_pem});
        REQUIRE(bytes);
        auto pub = VerifyKey::load(dir / "k.pub");
        REQUIRE(pub);
        auto t = load_image_torrent(*bytes, *pub);
        REQUIRE(t);
        bytes_ = *bytes;
        return *t;
    }
    std::vector<char> bytes_;
};

std::uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

// A libtorrent client of our own making, not our receiver (which refuses credentials that do
// not fit before it connects): it adds the torrent with whatever credentials it has and
// connects straight to the seed. Returns the payload bytes it got in `wait`.
std::int64_t hostile_fetch(const ImageTorrent& t, const std::optional<PeerCredentials>& credentials,
                           std::uint16_t seed_port, std::chrono::seconds wait,
                           const std::filesystem::path& save) {
    auto session = make_lan_session({.listen = "127.0.0.1:0", .ssl = credentials.has_value()});
    lt::add_torrent_params p;
    p.ti = t.info;
    p.save_path = save.string();
    auto h = add_swarm_torrent(*session, std::move(p), credentials);
    REQUIRE(h);
    const auto end = std::chrono::steady_clock::now() + wait;
    std::int64_t got = 0;
    while (std::chrono::steady_clock::now() < end) {
        h->connect_peer({lt::make_address_v4("127.0.0.1"), seed_port});
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        std::vector<lt::alert*> alerts;
        session->pop_alerts(&alerts);
        auto st = h->status();
        got = st.total_payload_download;
        if (st.is_seeding) break;
    }
    return got;
}

// A plain BitTorrent handshake for the info-hash to the seed's port: what answers, up to 68
// bytes in 3 s (a BitTorrent peer answers its own handshake; a TLS listener does not).
std::string plain_handshake(const std::string& info_hash, std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    timeval tv{3, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string hs = std::string("\x13") + "BitTorrent protocol" + std::string(8, '\0') +
                     info_hash + "-XX0000-abcdefghijkl";
    REQUIRE(::send(fd, hs.data(), hs.size(), MSG_NOSIGNAL) == ssize_t(hs.size()));
    std::string answer;
    char buf[68];
    for (;;) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        answer.append(buf, std::size_t(n));
        if (answer.size() >= 68) break;
    }
    ::close(fd);
    return answer;
}

}  // namespace

TEST_CASE("swarm certificates: issued by the deployment's CA, checked against a torrent's") {
    SwarmFixture f;
    CHECK(certificate_name(f.host.cert_pem) == "host-1");
    CHECK(parse_peer_credentials(f.host.pem(), f.ca.cert_pem));
    auto foreign = parse_peer_credentials(f.stranger.pem(), f.ca.cert_pem);
    REQUIRE(!foreign);
    CHECK(foreign.status().message().find("not one of this swarm's") != std::string::npos);
    auto mismatched = parse_peer_credentials(f.host.cert_pem + f.seed.key_pem, "");
    REQUIRE(!mismatched);
    CHECK(mismatched.status().message().find("key is not their certificate's") !=
          std::string::npos);
    CHECK(!parse_peer_credentials(f.host.cert_pem, ""));  // no key
    CHECK(!dh_params_pem().empty());

    ImageTorrent open = f.torrent("http://127.0.0.1:1/announce", "");
    ImageTorrent ssl = f.torrent("http://127.0.0.1:1/announce", f.ca.cert_pem);
    CHECK(open.ca_cert_pem.empty());
    CHECK(ssl.ca_cert_pem == f.ca.cert_pem);
    CHECK(ssl.info_hash != open.info_hash);  // the CA is inside the info dictionary
    auto none = peer_credentials_for(ssl, "");
    REQUIRE(!none);
    CHECK(none.status().message().find("admits only peers with a certificate") !=
          std::string::npos);
    CHECK(!peer_credentials_for(ssl, f.stranger.pem()));
    auto mine = peer_credentials_for(ssl, f.host.pem());
    REQUIRE(mine);
    CHECK(mine->has_value());
    CHECK(!peer_credentials_for(open, f.host.pem()));
    CHECK(peer_credentials_for(open, ""));

    REQUIRE(write_peer_cert_file(f.dir / "host.pem", f.host));
    struct stat st {};
    REQUIRE(::stat((f.dir / "host.pem").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    auto back = read_peer_cert_file(f.dir / "host.pem");
    REQUIRE(back);
    CHECK(*back == f.host.pem());
    ::chmod((f.dir / "host.pem").c_str(), 0644);
    CHECK(!read_peer_cert_file(f.dir / "host.pem"));
}

TEST_CASE(
    "SSL swarm: a peer without this CA's certificate gets no piece; a certified host the image") {
    SwarmFixture f;
    auto tracker = std::make_shared<Tracker>();
    auto tracker_server = TrackerServer::start("127.0.0.1:0", tracker, {});
    REQUIRE(tracker_server);
    ImageTorrent t = f.torrent((*tracker_server)->base_url() + "/announce", f.ca.cert_pem);
    tracker->allow(t.info_hash);

    const std::uint16_t port = free_port();
    std::atomic<bool> stop{false};
    std::atomic<bool> seeding{false};
    Result<SeedReport> seeded = Status::error("not run");
    std::thread seeder([&] {
        SeedOptions o;
        o.image_dir = f.dir / "img";
        o.torrent = f.bytes_;
        o.session.listen = "127.0.0.1:" + std::to_string(port);
        o.peer_pem = f.seed.pem();
        o.should_stop = [&] { return stop.load(); };
        o.log = [&](const std::string& line) {
            if (line.starts_with("seeding")) seeding = true;
        };
        seeded = run_seed(o);
    });
    struct Join {
        std::atomic<bool>& stop;
        std::thread& t;
        ~Join() {
            stop = true;
            if (t.joinable()) t.join();
        }
    } join{stop, seeder};
    for (int i = 0; i < 100 && !seeding; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    REQUIRE(seeding);

    // Another deployment's certificate: its TLS handshake fails, nothing is exchanged.
    CHECK(hostile_fetch(t, f.stranger, port, std::chrono::seconds(4), f.dir / "stranger") == 0);
    // No TLS at all: a plain BitTorrent handshake gets no BitTorrent answer.
    CHECK(plain_handshake(t.info_hash, port).find("BitTorrent protocol") == std::string::npos);

    // The control: the same client with this swarm's certificate gets the whole pack, so the
    // refusals above are the certificates' doing.
    CHECK(hostile_fetch(t, f.host, port, std::chrono::seconds(30), f.dir / "certified") ==
          std::int64_t(t.manifest.pack_size));

    // Our receiver, through the tracker (which now lists the seed's SSL port).
    ReceiveOptions r;
    r.output = f.dir / "out.raw";
    r.staging_dir = f.dir / "staging";
    r.session.listen = "127.0.0.1:0";
    r.peer_pem = f.host.pem();
    r.stall_timeout = std::chrono::seconds(30);
    auto report = run_receive(t, r);
    REQUIRE(report);
    CHECK(report->sha256 == t.manifest.image_sha256);
    CHECK(report->pack_in_memory);  // no staging file: libtorrent's disk I/O is memory_disk_io.h
    // Counted block by block on libtorrent's network thread (block_counts.h).
    CHECK(report->bytes_received == report->bytes_from_seed + report->bytes_from_peers);
    CHECK(report->bytes_received >= t.manifest.pack_size);
    CHECK(testutil::read_file(f.dir / "out.raw") == f.raw);

    stop = true;
    seeder.join();
    REQUIRE(seeded);
    // The seed uploaded to the certified host and the receiver, nothing to the stranger.
    CHECK(seeded->bytes_uploaded >= 2 * t.manifest.pack_size);
    CHECK(seeded->bytes_uploaded < 3 * t.manifest.pack_size);
}

TEST_CASE("seed: a pack that does not match its torrent is refused, not seeded") {
    SwarmFixture f;
    ImageTorrent t = f.torrent("http://127.0.0.1:9/announce", "");
    // One byte of the pack changed after the torrent was made: the manifests still agree, the
    // piece hashes do not. The seed maps the pack (memory_pack.h) and checks every piece.
    auto pack = testutil::read_file(f.dir / "img" / "chunks.pack");
    pack[pack.size() / 2] ^= 0xff;
    testutil::write_file(f.dir / "img" / "chunks.pack", pack);

    SeedOptions o;
    o.image_dir = f.dir / "img";
    o.torrent = f.bytes_;
    o.session.listen = "127.0.0.1:0";
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    o.should_stop = [&] { return std::chrono::steady_clock::now() > deadline; };
    bool seeding = false;
    o.log = [&](const std::string& line) { seeding = seeding || line.starts_with("seeding"); };
    auto seeded = run_seed(o);
    REQUIRE(!seeded);
    CHECK(seeded.status().message().find("does not match the torrent") != std::string::npos);
    CHECK(!seeding);
}
