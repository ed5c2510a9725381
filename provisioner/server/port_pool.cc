#include "port_pool.h"

#include <algorithm>
#include <string>
#include <utility>

namespace provisioner::server {

PortLease::PortLease(PortLease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)), port_(std::exchange(other.port_, 0)) {}

PortLease& PortLease::operator=(PortLease&& other) noexcept {
    if (this != &other) {
        give_back();
        pool_ = std::exchange(other.pool_, nullptr);
        port_ = std::exchange(other.port_, 0);
    }
    return *this;
}

PortLease::~PortLease() {
    give_back();
}

void PortLease::give_back() {
    if (pool_) pool_->held_.erase(port_);
    pool_ = nullptr;
    port_ = 0;
}

Result<PortLease> PortPool::acquire(PortRange range) {
    const int first = std::max(range.first, 1);
    const int last = std::min(range.first + range.size - 1, 65535);
    for (int port = first; port <= last; ++port)
        if (held_.insert(std::uint16_t(port)).second) return PortLease(*this, std::uint16_t(port));
    return Status::error(Code::conflict, "all " + std::to_string(std::max(last - first + 1, 0)) +
                                             " ports from " + std::to_string(first) + " to " +
                                             std::to_string(last) + " are in use");
}

}  // namespace provisioner::server
