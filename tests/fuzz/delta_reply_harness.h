// The delta receiver (imaging/delta/receiver_stream.h) against bytes that stand for everything
// a server sends, shared by fuzz_delta_reply and delta_reply_seeds (which records what the real
// server session sends, so that the seeds are whole, valid conversations).
//
// An input is one mode byte (Mode: what the receiver holds before it connects, and whether it
// has a secret), then the server's bytes as they arrive on the socket. The receiver runs over
// one end of a socketpair; a thread writes the bytes into the other end and reads whatever the
// receiver sends, so one input always makes the same conversation (with a secret, only up to
// the challenge: the receiver's nonce is fresh every time, so a recorded proof never fits).
// Files live in one temporary directory, under /dev/shm where there is one (the receiver
// syncs its output), removed when the Fixture goes.
#pragma once

#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "framed_stream.h"
#include "imaging/secret.h"
#include "imaging/signing.h"
#include "imaging/pack.h"
#include "pack_receiver.h"
#include "receiver_stream.h"

namespace delta_reply {

namespace fs = std::filesystem;

enum Mode : std::uint8_t {
    kSecret = 1,          // the receiver has kSecretHex and asks the server to prove it
    kOutputHoldsOld = 2,  // the output already holds old_image() (re-imaging in place)
    kBasisHoldsOld = 4,   // --basis names a file holding old_image()
    // The pack receiver (pack_receiver.h) in place of the disk one: it makes an image
    // directory, reusing frames of a basis pack of old_image() with kBasisHoldsOld. It asks for
    // whole frames only, in order, so a fresh receiver's seed (mode 0) is a whole conversation.
    kPack = 8,
};

// A key pair made for fuzzing only: it signs the seeds' manifest and nothing else.
inline constexpr const char* kPrivatePem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIP7gR2QuJ9uxspOSxJhsnp6uT0DHQbNH4SlFLJ+ta4gv\n"
    "-----END PRIVATE KEY-----\n";
inline constexpr const char* kPublicPem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAn8kRLv9Z8+oOMMuPymJwiaK7qN07MK3elR7m6RiEBjs=\n"
    "-----END PUBLIC KEY-----\n";
inline constexpr const char* kSecretHex =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

// Small chunks, so that a whole conversation (manifest, signatures, frames, literals) stays a
// few tens of KiB: 5 chunks and a short last one.
inline constexpr std::uint32_t kChunkSize = 16 * 1024;
inline constexpr std::size_t kImageSize = 5 * kChunkSize + 5000;

// Text-like bytes (zstd packs them to about a third): words picked by a xorshift generator.
inline std::vector<std::uint8_t> text(std::size_t n, std::uint32_t seed) {
    static constexpr const char* kWords[16] = {
        "host ",  "image ", "chunk ", "delta ", "rack ",   "dom0 ", "site ",  "vm ",
        "frame ", "basis ", "zstd ",  "mac ",   "token\n", "disk ", "block ", "sha256 "};
    std::vector<std::uint8_t> out;
    std::uint32_t x = seed * 2654435761u + 1;
    while (out.size() < n) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        for (const char* w = kWords[x & 15]; *w && out.size() < n; ++w)
            out.push_back(std::uint8_t(*w));
    }
    return out;
}

inline void put(std::vector<std::uint8_t>& image, std::size_t chunk,
                std::span<const std::uint8_t> bytes, std::size_t at = 0) {
    std::copy(bytes.begin(), bytes.end(), image.begin() + std::ptrdiff_t(chunk * kChunkSize + at));
}

// The image the seeds' server offers: chunk 1 all zeros, the last chunk short.
inline std::vector<std::uint8_t> new_image() {
    std::vector<std::uint8_t> image(kImageSize, 0);
    for (std::size_t c : {0, 2, 3, 4}) put(image, c, text(kChunkSize, std::uint32_t(c + 1)));
    put(image, 5, text(kImageSize - 5 * kChunkSize, 6));
    return image;
}

// What a receiver may hold already, so that it asks for signatures and literal ranges: chunk 0
// with 100 bytes changed (one block's literals), chunk 1 not zero (zeroed), chunk 2 and the
// last the same (kept or copied), chunk 3 the new one's data moved to an odd offset (local
// blocks at odd offsets and literals), chunk 4 different throughout (its whole frame).
inline std::vector<std::uint8_t> old_image() {
    const std::vector<std::uint8_t> next = new_image();
    std::vector<std::uint8_t> image = next;
    for (std::size_t k = 0; k < 100; ++k) image[5000 + k] ^= 0x5a;
    put(image, 1, text(kChunkSize, 7));
    const auto* chunk3 = next.data() + 3 * kChunkSize;
    put(image, 3, std::span(chunk3, kChunkSize - 1234), 1234);
    put(image, 4, text(kChunkSize, 8));
    return image;
}

inline void write_file(const fs::path& path, std::span<const std::uint8_t> bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    if (!out.flush()) std::abort();
}

inline std::vector<std::uint8_t> read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A FramedStream over one end of a socketpair (Asio takes any stream socket's descriptor);
// it closes fd when it goes.
inline std::unique_ptr<imaging::delta::FramedStream> stream_on(int fd) {
    auto io = std::make_unique<boost::asio::io_context>();
    boost::asio::ip::tcp::socket socket(*io);
    socket.assign(boost::asio::ip::tcp::v4(), fd);
    return std::make_unique<imaging::delta::FramedStream>(std::move(io), std::move(socket));
}

inline std::pair<int, int> socket_pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
    return {fds[0], fds[1]};
}

// Speaks for the server on fd: writes `bytes` and then ends its side, while reading (and
// dropping) whatever the receiver sends until the receiver closes; then closes fd.
inline void play_server(int fd, std::span<const std::uint8_t> bytes) {
    std::size_t sent = 0;
    if (bytes.empty()) ::shutdown(fd, SHUT_WR);
    for (;;) {
        pollfd p{fd, short(POLLIN | (sent < bytes.size() ? POLLOUT : 0)), 0};
        if (::poll(&p, 1, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (sent < bytes.size() && (p.revents & (POLLOUT | POLLERR))) {
            ssize_t n =
                ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n > 0) sent += std::size_t(n);
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                sent = bytes.size();  // the receiver left
            if (sent == bytes.size()) ::shutdown(fd, SHUT_WR);
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            char sink[4096];
            ssize_t n = ::recv(fd, sink, sizeof sink, MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) break;
        }
    }
    ::close(fd);
}

class Fixture {
  public:
    Fixture() {
        const fs::path base =
            fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
        std::string dir = (base / "fuzz-delta-reply-XXXXXX").string();
        if (!::mkdtemp(dir.data())) std::abort();
        dir_ = dir;
        std::ofstream(dir_ / "k.pub") << kPublicPem;
        auto key = imaging::VerifyKey::load(dir_ / "k.pub");
        if (!key) std::abort();
        key_ = std::make_unique<imaging::VerifyKey>(*key);
        auto secret = imaging::secret_from_hex(kSecretHex);
        if (!secret) std::abort();
        secret_ = *secret;
        old_ = old_image();
        write_file(dir_ / "old", old_);
        // A basis for the pack receiver: old_image() packed and signed with the fuzzing key.
        std::ofstream(dir_ / "k.key") << kPrivatePem;
        auto signing = imaging::SigningKey::load(dir_ / "k.key");
        if (!signing) std::abort();
        imaging::PackOptions pack;
        pack.chunk_size = kChunkSize;
        pack.level = 3;
        pack.threads = 1;
        if (!imaging::pack_image(dir_ / "old", dir_ / "old-pack", *signing, pack)) std::abort();
    }
    ~Fixture() {
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }
    Fixture(const Fixture&) = delete;
    Fixture& operator=(const Fixture&) = delete;

    const fs::path& dir() const { return dir_; }
    const imaging::Secret& secret() const { return secret_; }
    fs::path output() const { return dir_ / "out"; }

    // Makes the output as `mode` says (removed, or holding old_image()) and runs the receiver
    // over `stream`, the server being whatever is on its other end.
    imaging::Result<imaging::delta::ReceiveReport> receive(std::uint8_t mode,
                                                           imaging::delta::FramedStream& stream) {
        std::error_code ec;
        fs::remove(output(), ec);
        if (mode & kOutputHoldsOld) write_file(output(), old_);
        imaging::delta::ReceiveOptions options;
        options.output = output();
        if (mode & kBasisHoldsOld) options.basis = dir_ / "old";
        if (mode & kSecret) options.secret = secret_;
        options.timeout = std::chrono::seconds(5);  // never reached: the server's bytes end in EOF
        options.threads = 1;
        return imaging::delta::receive_over(stream, *key_, options, nullptr);
    }

    // The pack receiver into pack_dir() (removed first), as `mode` says, over `stream`.
    imaging::Result<imaging::delta::PackReceiveReport> receive_pack(
        std::uint8_t mode, imaging::delta::FramedStream& stream) {
        std::error_code ec;
        fs::remove_all(pack_dir(), ec);
        imaging::delta::remove_partial(dir_);
        imaging::delta::PackReceiveOptions options;
        options.dest = pack_dir();
        if (mode & kBasisHoldsOld) options.bases = {dir_ / "old-pack"};
        if (mode & kSecret) options.secret = secret_;
        options.timeout = std::chrono::seconds(5);
        return imaging::delta::receive_pack_over(stream, *key_, options, nullptr);
    }
    fs::path pack_dir() const { return dir_ / "pack"; }
    const imaging::VerifyKey& key() const { return *key_; }

    // The pack receiver against a server that sends `server_bytes` whatever it is asked.
    imaging::Result<imaging::delta::PackReceiveReport> replay_pack(
        std::uint8_t mode, std::span<const std::uint8_t> server_bytes) {
        const std::pair<int, int> fds = socket_pair();
        std::thread server(play_server, fds.second, server_bytes);
        auto report = [&] {
            auto stream = stream_on(fds.first);
            return receive_pack(mode, *stream);
        }();
        server.join();
        return report;
    }

    // The receiver against a server that sends `server_bytes` whatever it is asked.
    imaging::Result<imaging::delta::ReceiveReport> replay(
        std::uint8_t mode, std::span<const std::uint8_t> server_bytes) {
        const std::pair<int, int> fds = socket_pair();
        std::thread server(play_server, fds.second, server_bytes);
        auto report = [&] {
            auto stream = stream_on(fds.first);
            return receive(mode, *stream);
        }();  // the stream is closed here, which ends play_server
        server.join();
        return report;
    }

  private:
    fs::path dir_;
    std::unique_ptr<imaging::VerifyKey> key_;
    imaging::Secret secret_{};
    std::vector<std::uint8_t> old_;
};

}  // namespace delta_reply
