#include "provisioner/agent/compress_tunnel.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "base/clock.h"
#include "compress_frame.h"
#include "imaging/digest.h"

namespace provisioner::agent {
namespace {

using compress::PeerRoute;

Status sys_error(const std::string& what) {
    return Status::error(Code::storage, what + ": " + std::strerror(errno));
}

class Fd {
  public:
    explicit Fd(int fd = -1) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    Fd& operator=(Fd&&) = delete;
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }

  private:
    int fd_;
};

class CompressTunnel : public CompressPath {
  public:
    CompressTunnel(std::string device, std::uint16_t port, int level, Fd tun, Fd udp, Fd stop,
                   std::shared_ptr<CompressCounters> counters)
        : device_(std::move(device)),
          port_(port),
          level_(level),
          tun_(std::move(tun)),
          udp_(std::move(udp)),
          stop_(std::move(stop)),
          counters_(counters ? std::move(counters) : std::make_shared<CompressCounters>()),
          routes_(std::make_shared<const std::vector<PeerRoute>>()),
          // From the clock, so that a restarted agent's counters stay above those its peers
          // saw before (their replay windows would refuse a counter that started again at 0).
          counter_(std::uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(
                                     base::real_clock().wall_now().time_since_epoch())
                                     .count())) {
        thread_ = std::thread([this] { serve(); });
    }
    ~CompressTunnel() override {
        const std::uint64_t one = 1;
        (void)::write(stop_.get(), &one, sizeof one);
        thread_.join();
    }
    const std::string& device() const override { return device_; }
    void set_routes(std::vector<Route> routes) override {
        auto table = std::make_shared<std::vector<PeerRoute>>();
        for (const Route& r : routes)
            if (auto parsed = compress::make_route(r.cidr, r.peer)) table->push_back(*parsed);
        std::lock_guard<std::mutex> hold(mutex_);
        routes_ = std::move(table);
    }
    void set_key(std::string hex) override {
        std::shared_ptr<const std::string> key;
        if (auto bytes = imaging::from_hex(hex); bytes && bytes->size() == 32)
            key = std::make_shared<const std::string>(bytes->begin(), bytes->end());
        std::lock_guard<std::mutex> hold(mutex_);
        key_ = std::move(key);
    }

  private:
    std::shared_ptr<const std::vector<PeerRoute>> routes() {
        std::lock_guard<std::mutex> hold(mutex_);
        return routes_;
    }
    std::shared_ptr<const std::string> key() {
        std::lock_guard<std::mutex> hold(mutex_);
        return key_;
    }

    // The address this host sends to peer from (the kernel's choice of source for that
    // route), which the peer sees and the tag covers; 0 when there is no route to it.
    std::uint32_t local_address(std::uint32_t peer) {
        if (auto it = local_.find(peer); it != local_.end()) return it->second;
        Fd probe(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(port_);
        to.sin_addr.s_addr = htonl(peer);
        sockaddr_in self{};
        socklen_t len = sizeof self;
        if (probe.get() < 0 ||
            ::connect(probe.get(), reinterpret_cast<sockaddr*>(&to), sizeof to) < 0 ||
            ::getsockname(probe.get(), reinterpret_cast<sockaddr*>(&self), &len) < 0)
            return 0;
        return local_[peer] = ntohl(self.sin_addr.s_addr);
    }

    void serve() {
        std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
        std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
        std::string packet(compress::kMaxPacket + compress::kOverhead, '\0'), frame, decoded;
        pollfd fds[3] = {
            {tun_.get(), POLLIN, 0}, {udp_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
        for (;;) {
            if (::poll(fds, 3, -1) < 0 && errno != EINTR) return;
            if (fds[2].revents) return;
            if (fds[0].revents & POLLIN) {
                // Drain a batch per wakeup: one poll per packet costs more than the packet.
                for (int i = 0; i < 64; ++i) {
                    const ssize_t n = ::read(tun_.get(), packet.data(), compress::kMaxPacket);
                    if (n <= 0) break;
                    send(cctx.get(), std::string_view(packet.data(), std::size_t(n)), frame);
                }
            }
            if (fds[1].revents & POLLIN) {
                for (int i = 0; i < 64; ++i) {
                    sockaddr_in from{};
                    socklen_t len = sizeof from;
                    const ssize_t n =
                        ::recvfrom(udp_.get(), packet.data(), packet.size(), MSG_DONTWAIT,
                                   reinterpret_cast<sockaddr*>(&from), &len);
                    if (n <= 0) break;
                    receive(dctx.get(), ntohl(from.sin_addr.s_addr),
                            std::string_view(packet.data(), std::size_t(n)), decoded);
                }
            }
        }
    }

    void send(ZSTD_CCtx* cctx, std::string_view packet, std::string& frame) {
        auto addresses = compress::ipv4_addresses(packet);
        if (!addresses) return;
        auto table = routes();
        const PeerRoute* route = compress::find_route(*table, addresses->destination);
        auto secret = key();
        if (!route || !secret) return;
        if (table != local_for_) {  // the routes changed: so may the way to a peer
            local_.clear();
            local_for_ = table;
        }
        const std::uint32_t self = local_address(route->peer);
        if (self == 0) return;
        const bool compressed =
            compress::encode_frame(cctx, level_, *secret, self, counter_++, packet, frame);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(port_);
        to.sin_addr.s_addr = htonl(route->peer);
        if (::sendto(udp_.get(), frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to),
                     sizeof to) < 0)
            return;
        counters_->packets_out++;
        counters_->packets_compressed += compressed;
        counters_->bytes_plain_out += packet.size();
        counters_->bytes_wire_out += frame.size();
    }

    void receive(ZSTD_DCtx* dctx, std::uint32_t peer, std::string_view frame, std::string& out) {
        counters_->packets_in++;
        auto table = routes();
        auto secret = key();
        bool known_peer = false;
        for (const PeerRoute& r : *table) known_peer |= r.peer == peer;
        // The tag first: nothing of a datagram is read, nor decompressed, before it is known
        // to come from a holder of the key as this peer.
        std::optional<std::uint64_t> counter;
        if (!known_peer || !secret || !(counter = compress::open(*secret, peer, frame)) ||
            !windows_[peer].fresh(*counter)) {
            counters_->packets_refused++;
            return;
        }
        std::optional<compress::Addresses> addresses;
        if (!compress::decode_frame(dctx, frame, out).is_ok() ||
            !(addresses = compress::ipv4_addresses(out))) {
            counters_->packets_refused++;
            return;
        }
        const PeerRoute* from = compress::find_route(*table, addresses->source);
        if (!from || from->peer != peer) {
            counters_->packets_refused++;
            return;
        }
        windows_[peer].accept(*counter);
        (void)::write(tun_.get(), out.data(), out.size());
    }

    std::string device_;
    std::uint16_t port_;
    int level_;
    Fd tun_, udp_, stop_;
    std::shared_ptr<CompressCounters> counters_;
    std::mutex mutex_;
    std::shared_ptr<const std::vector<PeerRoute>> routes_;
    std::shared_ptr<const std::string> key_;  // null: no key, nothing sent or taken
    // The serving thread's alone:
    std::uint64_t counter_;
    std::map<std::uint32_t, compress::ReplayWindow> windows_;  // by peer
    std::map<std::uint32_t, std::uint32_t> local_;             // peer -> our address to it
    std::shared_ptr<const std::vector<PeerRoute>> local_for_;  // the routes local_ is for
    std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<CompressPath>> open_compress_tunnel(
    const CompressTunnelOptions& o, std::shared_ptr<CompressCounters> counters) {
    if (o.device.empty() || o.device.size() >= IFNAMSIZ)
        return Status::error(Code::invalid_argument, "bad tunnel device name \"" + o.device + "\"");
    Fd tun(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (tun.get() < 0) return sys_error("opening /dev/net/tun");
    ifreq ifr{};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    std::strncpy(ifr.ifr_name, o.device.c_str(), IFNAMSIZ - 1);
    if (::ioctl(tun.get(), TUNSETIFF, &ifr) < 0) return sys_error("creating " + o.device);
    Fd control(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (control.get() < 0) return sys_error("socket");
    if (::ioctl(control.get(), SIOCGIFFLAGS, &ifr) < 0) return sys_error(o.device + ": flags");
    ifr.ifr_flags |= IFF_UP;
    if (::ioctl(control.get(), SIOCSIFFLAGS, &ifr) < 0) return sys_error(o.device + ": up");
    // Its packets come from networks routed elsewhere (the peer's VMs, by the wire): strict
    // reverse-path filtering would drop every one.
    std::ofstream("/proc/sys/net/ipv4/conf/" + o.device + "/rp_filter") << "0\n";

    Fd udp(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (udp.get() < 0) return sys_error("udp socket");
    const int yes = 1, dont = IP_PMTUDISC_DONT, buffer = 4 << 20;
    ::setsockopt(udp.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    // A plain (incompressible) full-size packet plus our header exceeds the wire's MTU: let
    // the kernel fragment it rather than refuse it.
    ::setsockopt(udp.get(), IPPROTO_IP, IP_MTU_DISCOVER, &dont, sizeof dont);
    ::setsockopt(udp.get(), SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
    ::setsockopt(udp.get(), SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_port = htons(o.port);
    if (::bind(udp.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) < 0)
        return sys_error("binding UDP port " + std::to_string(o.port));
    Fd stop(::eventfd(0, EFD_CLOEXEC));
    if (stop.get() < 0) return sys_error("eventfd");
    return std::unique_ptr<CompressPath>(
        std::make_unique<CompressTunnel>(o.device, o.port, o.level, std::move(tun), std::move(udp),
                                         std::move(stop), std::move(counters)));
}

}  // namespace provisioner::agent
