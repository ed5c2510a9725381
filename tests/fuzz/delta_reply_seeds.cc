// Writes fuzz_delta_reply's seed corpus: for each mode (delta_reply_harness.h) it runs the real
// server session (imaging/delta/session.h) on the harness's image, signed with its fuzzing key,
// and the real receiver against it, both over socketpairs joined by a relay that records what
// the server sends. Each seed is the mode byte and that record. A seed without a secret is
// replayed at once: the receiver must end with the image again, or no seed is written.
//   delta_reply_seeds OUTDIR
#include <poll.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <iterator>
#include <map>
#include <string>
#include <thread>

#include "delta_reply_harness.h"
#include "imaging/pack.h"
#include "imaging/packed_image.h"
#include "session.h"

namespace {

using namespace delta_reply;
namespace delta = imaging::delta;

// Copies bytes both ways between the receiver's socket and the server's, keeping what the
// server sends; passes each side's end of stream on, and closes both when both have ended.
std::vector<std::uint8_t> relay(int receiver, int server) {
    std::vector<std::uint8_t> recorded;
    bool from_receiver = true, from_server = true;
    while (from_receiver || from_server) {
        pollfd p[2] = {{receiver, short(from_receiver ? POLLIN : 0), 0},
                       {server, short(from_server ? POLLIN : 0), 0}};
        if (::poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            std::perror("poll");
            std::exit(1);
        }
        for (int side = 0; side < 2; ++side) {
            if (!(p[side].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            const int from = side == 0 ? receiver : server, to = side == 0 ? server : receiver;
            std::uint8_t buffer[65536];
            ssize_t n = ::recv(from, buffer, sizeof buffer, 0);
            if (n <= 0) {
                ::shutdown(to, SHUT_WR);
                (side == 0 ? from_receiver : from_server) = false;
                continue;
            }
            if (side == 1) recorded.insert(recorded.end(), buffer, buffer + n);
            for (ssize_t sent = 0; sent < n;) {
                ssize_t k = ::send(to, buffer + sent, std::size_t(n - sent), MSG_NOSIGNAL);
                if (k < 0 && errno == EINTR) continue;
                if (k < 0) break;  // that side has gone; its end of stream follows
                sent += k;
            }
        }
    }
    ::close(receiver);
    ::close(server);
    return recorded;
}

// "manifest 1, signatures 1, frame 3, literals 2": the messages of a record, by type.
std::string describe(const std::vector<std::uint8_t>& record) {
    static const char* kNames[] = {"?",          "hello", "manifest",  "sig-request",
                                   "signatures", "want",  "frame",     "literals",
                                   "error",      "done",  "challenge", "auth"};
    std::map<std::string, int> counts;
    for (std::size_t at = 0; at + 5 <= record.size();) {
        std::uint32_t len;
        std::memcpy(&len, record.data() + at, 4);
        const std::uint8_t type = record[at + 4];
        counts[std::size_t(type) < std::size(kNames) ? kNames[type] : "?"]++;
        at += 5 + std::size_t(len);
    }
    std::string out;
    for (const auto& [name, n] : counts)
        out += (out.empty() ? "" : ", ") + name + " " + std::to_string(n);
    return out;
}

int fail(const std::string& what) {
    std::fprintf(stderr, "delta_reply_seeds: %s\n", what.c_str());
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) return fail("usage: delta_reply_seeds OUTDIR");
    const fs::path out = argv[1];
    fs::create_directories(out);
    Fixture fixture;
    const fs::path key_file = fixture.dir() / "k.key";
    std::ofstream(key_file) << kPrivatePem;
    ::chmod(key_file.c_str(), 0600);
    auto key = imaging::SigningKey::load(key_file);
    if (!key) return fail(key.status().message());
    const std::vector<std::uint8_t> image = new_image();
    write_file(fixture.dir() / "new", image);
    imaging::PackOptions pack;
    pack.name = "fuzz";
    pack.version = "1";
    pack.chunk_size = kChunkSize;
    pack.level = 3;
    pack.threads = 1;
    if (auto m = imaging::pack_image(fixture.dir() / "new", fixture.dir() / "img", *key, pack); !m)
        return fail(m.status().message());
    auto packed = imaging::PackedImage::open_unverified(fixture.dir() / "img");
    if (!packed) return fail(packed.status().message());
    auto signature = delta::ImageSignature::load_or_compute(**packed);
    if (!signature) return fail(signature.status().message());

    const std::pair<std::uint8_t, const char*> seeds[] = {
        {0, "fresh"},
        {kOutputHoldsOld, "in_place"},
        {kBasisHoldsOld, "basis"},
        {kOutputHoldsOld | kBasisHoldsOld, "in_place_and_basis"},
        {kSecret, "secret"},
    };
    // (No structured bindings below: clang 14 cannot capture them in a lambda.)
    for (const auto& seed_spec : seeds) {
        const std::uint8_t mode = seed_spec.first;
        const std::string name = seed_spec.second;
        delta::ServeOptions serve;
        if (mode & kSecret) serve.secret = fixture.secret();
        const std::pair<int, int> to_receiver = socket_pair(), to_server = socket_pair();
        imaging::Status served;
        std::thread server([&] {
            delta::ServerSession session(stream_on(to_server.second), **packed, *signature, serve);
            served = session.run();
        });
        std::vector<std::uint8_t> record;
        std::thread relaying([&] { record = relay(to_receiver.second, to_server.first); });
        auto received = [&] {
            auto stream = stream_on(to_receiver.first);
            return fixture.receive(mode, *stream);
        }();
        server.join();
        relaying.join();
        if (!received) return fail(name + ": " + received.status().message());
        if (!served) return fail(name + ": server: " + served.message());
        if (read_file(fixture.output()) != image) return fail(name + ": wrong output");
        if (!(mode & kSecret)) {
            auto again = fixture.replay(mode, record);
            if (!again) return fail(name + ": replay: " + again.status().message());
            if (read_file(fixture.output()) != image) return fail(name + ": replay: wrong output");
        }
        std::vector<std::uint8_t> seed{mode};
        seed.insert(seed.end(), record.begin(), record.end());
        write_file(out / name, seed);
        std::printf("%-20s mode %u  %6zu bytes: %s\n", name.c_str(), unsigned(mode), seed.size(),
                    describe(record).c_str());
    }
    return 0;
}
