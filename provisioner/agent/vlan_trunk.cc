#include "provisioner/agent/vlan_trunk.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace provisioner::agent {
namespace {

constexpr std::size_t kMacs = 12, kHeader = 14, kTag = 4;
// Room for a GRO-merged packet from a veth; a TAP takes at most its MTU's worth anyway.
constexpr std::size_t kBuffer = 65536 + 64;

Status sys_error(const std::string& what) {
    return Status::error(what + ": " + std::strerror(errno));
}

std::uint16_t be16(std::string_view s, std::size_t at) {
    return std::uint16_t((std::uint8_t(s[at]) << 8) | std::uint8_t(s[at + 1]));
}

}  // namespace

std::string tag_frame(std::string_view frame, std::uint16_t vid) {
    if (frame.size() < kHeader) return {};
    std::string out;
    out.reserve(frame.size() + kTag);
    out.append(frame.substr(0, kMacs));
    const std::uint16_t tci = vid & 0x0fff;
    out += char(0x81);
    out += char(0x00);
    out += char(tci >> 8);
    out += char(tci & 0xff);
    out.append(frame.substr(kMacs));
    return out;
}

std::optional<UntaggedFrame> untag_frame(std::string_view frame,
                                         std::optional<std::uint16_t> aux_vid) {
    if (frame.size() < kHeader) return std::nullopt;
    UntaggedFrame out;
    if (aux_vid) {
        out.vid = *aux_vid & 0x0fff;
        out.frame.assign(frame);
    } else {
        if (be16(frame, kMacs) != 0x8100 || frame.size() < kHeader + kTag) return std::nullopt;
        out.vid = be16(frame, kMacs + 2) & 0x0fff;
        out.frame.assign(frame.substr(0, kMacs));
        out.frame.append(frame.substr(kMacs + kTag));
    }
    if (out.vid == 0) return std::nullopt;
    return out;
}

Result<std::unique_ptr<VlanTrunk>> VlanTrunk::open(const std::string& trunk) {
    const int ifindex = int(::if_nametoindex(trunk.c_str()));
    if (ifindex == 0)
        return Status::error(Code::not_found, "the VLAN trunk " + trunk + ": no such interface");
    base::UniqueFd packet(
        ::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL)));
    if (!packet) return sys_error("the VLAN trunk " + trunk + ": packet socket");
    sockaddr_ll at{};
    at.sll_family = AF_PACKET;
    at.sll_protocol = htons(ETH_P_ALL);
    at.sll_ifindex = ifindex;
    if (::bind(packet.get(), reinterpret_cast<sockaddr*>(&at), sizeof at) < 0)
        return sys_error("the VLAN trunk " + trunk + ": bind");
    const int yes = 1;
    if (::setsockopt(packet.get(), SOL_PACKET, PACKET_AUXDATA, &yes, sizeof yes) < 0)
        return sys_error("the VLAN trunk " + trunk + ": PACKET_AUXDATA");
    // Only tagged frames reach this socket: the trunk also carries the Dom0's own traffic
    // (images, templates, reports), which is none of the ports' business.
    sock_filter tagged_only[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, std::uint32_t(SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 2, 0),  // the tag in the packet's metadata
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x8100, 0, 1),  // or still in the frame
        BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
        BPF_STMT(BPF_RET | BPF_K, 0),
    };
    sock_fprog program{std::uint16_t(sizeof tagged_only / sizeof tagged_only[0]), tagged_only};
    if (::setsockopt(packet.get(), SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) < 0)
        return sys_error("the VLAN trunk " + trunk + ": SO_ATTACH_FILTER");
    base::UniqueFd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!wake) return sys_error("eventfd");
    std::unique_ptr<VlanTrunk> t(new VlanTrunk(std::move(packet), std::move(wake), ifindex));
    t->thread_ = std::thread([p = t.get()] { p->serve(); });
    return t;
}

VlanTrunk::VlanTrunk(base::UniqueFd packet, base::UniqueFd wake, int ifindex)
    : packet_(std::move(packet)), wake_(std::move(wake)), ifindex_(ifindex) {}

VlanTrunk::~VlanTrunk() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    const std::uint64_t one = 1;
    (void)::write(wake_.get(), &one, sizeof one);
    if (thread_.joinable()) thread_.join();
}

Status VlanTrunk::add_port(std::uint16_t vid, const std::string& port) {
    std::lock_guard lock(mutex_);
    if (ports_.count(vid)) return Status::ok();
    if (port.empty() || port.size() >= IFNAMSIZ)
        return Status::error(Code::invalid_argument, "bad port name \"" + port + "\"");
    base::UniqueFd tap(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!tap) return sys_error("opening /dev/net/tun");
    ifreq ifr{};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    std::strncpy(ifr.ifr_name, port.c_str(), IFNAMSIZ - 1);
    if (::ioctl(tap.get(), TUNSETIFF, &ifr) < 0) return sys_error("making TAP device " + port);
    ports_.emplace(vid, std::move(tap));
    const std::uint64_t one = 1;
    (void)::write(wake_.get(), &one, sizeof one);  // the thread polls the new port from now on
    return Status::ok();
}

void VlanTrunk::remove_port(std::uint16_t vid) {
    std::unique_lock lock(mutex_);
    auto p = ports_.find(vid);
    if (p == ports_.end()) return;
    retired_.push_back(std::move(p->second));
    ports_.erase(p);
    const std::uint64_t one = 1;
    (void)::write(wake_.get(), &one, sizeof one);
    retired_closed_.wait(lock, [this] { return retired_.empty() || !serving_; });
    retired_.clear();  // the thread has ended: nothing polls them
}

bool VlanTrunk::has_port(std::uint16_t vid) const {
    std::lock_guard lock(mutex_);
    return ports_.count(vid) != 0;
}

void VlanTrunk::serve() {
    std::vector<pollfd> fds;
    std::vector<std::uint16_t> vids;
    for (;;) {
        fds.assign({{wake_.get(), POLLIN, 0}, {packet_.get(), POLLIN, 0}});
        vids.clear();
        {
            std::lock_guard lock(mutex_);
            // Between two rounds no descriptor of a removed port is in use: close them here.
            if (!retired_.empty()) {
                retired_.clear();
                retired_closed_.notify_all();
            }
            if (stopping_) return stop_serving();
            for (const auto& [vid, fd] : ports_) {
                fds.push_back({fd.get(), POLLIN, 0});
                vids.push_back(vid);
            }
        }
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR) continue;
            std::lock_guard lock(mutex_);
            return stop_serving();
        }
        if (fds[0].revents & POLLIN) {
            std::uint64_t n;
            (void)::read(wake_.get(), &n, sizeof n);
        }
        if (fds[1].revents & POLLIN) from_trunk();
        // A port's descriptor stays open while this thread polls it: a removed port is
        // closed at the top of the next round, or after the thread has ended.
        for (std::size_t i = 2; i < fds.size(); ++i)
            if (fds[i].revents & POLLIN) from_port(vids[i - 2], fds[i].fd);
    }
}

void VlanTrunk::stop_serving() {
    serving_ = false;
    retired_closed_.notify_all();
}

void VlanTrunk::from_trunk() {
    std::vector<char> buffer(kBuffer);
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(tpacket_auxdata))];
    for (int burst = 0; burst < 64; ++burst) {
        sockaddr_ll from{};
        iovec iov{buffer.data(), buffer.size()};
        msghdr msg{};
        msg.msg_name = &from;
        msg.msg_namelen = sizeof from;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        const ssize_t n = ::recvmsg(packet_.get(), &msg, 0);
        if (n < 0) return;
        // What the Dom0 sends (our own tagged frames included) is looped back to the socket.
        if (from.sll_pkttype == PACKET_OUTGOING) continue;
        std::optional<std::uint16_t> aux_vid;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
            tpacket_auxdata aux;
            std::memcpy(&aux, CMSG_DATA(c), sizeof aux);
            if (aux.tp_status & TP_STATUS_VLAN_VALID) aux_vid = aux.tp_vlan_tci;
        }
        auto untagged = untag_frame(std::string_view(buffer.data(), std::size_t(n)), aux_vid);
        if (!untagged) continue;
        int fd = -1;
        {
            std::lock_guard lock(mutex_);
            if (auto p = ports_.find(untagged->vid); p != ports_.end()) fd = p->second.get();
        }
        if (fd >= 0) (void)::write(fd, untagged->frame.data(), untagged->frame.size());
    }
}

void VlanTrunk::from_port(std::uint16_t vid, int fd) {
    std::vector<char> buffer(kBuffer);
    for (int burst = 0; burst < 64; ++burst) {
        const ssize_t n = ::read(fd, buffer.data(), buffer.size());
        if (n <= 0) return;
        const std::string tagged = tag_frame(std::string_view(buffer.data(), std::size_t(n)), vid);
        if (tagged.empty()) continue;
        sockaddr_ll to{};
        to.sll_family = AF_PACKET;
        to.sll_ifindex = ifindex_;
        to.sll_halen = ETH_ALEN;
        std::memcpy(to.sll_addr, tagged.data(), ETH_ALEN);
        (void)::sendto(packet_.get(), tagged.data(), tagged.size(), 0,
                       reinterpret_cast<sockaddr*>(&to), sizeof to);
    }
}

}  // namespace provisioner::agent
