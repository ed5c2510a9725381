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
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

#include "compress_frame.h"

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
          routes_(std::make_shared<const std::vector<PeerRoute>>()) {
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

  private:
    std::shared_ptr<const std::vector<PeerRoute>> routes() {
        std::lock_guard<std::mutex> hold(mutex_);
        return routes_;
    }

    void serve() {
        std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
        std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
        std::string packet(compress::kMaxPacket + compress::kHeader, '\0'), frame, decoded;
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
        if (!route) return;
        const bool compressed = compress::encode_frame(cctx, level_, packet, frame);
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
        bool known_peer = false;
        for (const PeerRoute& r : *table) known_peer |= r.peer == peer;
        std::optional<compress::Addresses> addresses;
        if (!known_peer || !compress::decode_frame(dctx, frame, out).is_ok() ||
            !(addresses = compress::ipv4_addresses(out))) {
            counters_->packets_refused++;
            return;
        }
        const PeerRoute* from = compress::find_route(*table, addresses->source);
        if (!from || from->peer != peer) {
            counters_->packets_refused++;
            return;
        }
        (void)::write(tun_.get(), out.data(), out.size());
    }

    std::string device_;
    std::uint16_t port_;
    int level_;
    Fd tun_, udp_, stop_;
    std::shared_ptr<CompressCounters> counters_;
    std::mutex mutex_;
    std::shared_ptr<const std::vector<PeerRoute>> routes_;
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
