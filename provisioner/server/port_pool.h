// The ports of provisionerd's children (delta servers, multicast senders, seeds), handed out so
// that no two running children share one: a lease takes the lowest port of a range that no
// other lease holds, and gives it back when destroyed. Ports are not derived from ids: whoever
// needs a child's port asks the lease it keeps with the child.
//
// Not thread-safe: the owner's lock guards a pool and all its leases. A pool must outlive its
// leases.
#pragma once

#include <cstdint>
#include <set>

#include "provisioner/status.h"

namespace provisioner::server {

class PortPool;

// One held port. Moving hands it on; destroying gives it back. A default one holds none.
class PortLease {
  public:
    PortLease() = default;
    PortLease(PortLease&& other) noexcept;
    PortLease& operator=(PortLease&& other) noexcept;
    ~PortLease();

    std::uint16_t number() const { return port_; }  // 0 when it holds none

  private:
    friend class PortPool;
    PortLease(PortPool& pool, std::uint16_t port) : pool_(&pool), port_(port) {}
    void give_back();

    PortPool* pool_ = nullptr;
    std::uint16_t port_ = 0;
};

// Ports first .. first + size - 1, cut at 65535.
struct PortRange {
    int first = 0;
    int size = 0;
};

class PortPool {
  public:
    PortPool() = default;
    PortPool(const PortPool&) = delete;
    PortPool& operator=(const PortPool&) = delete;

    // The lowest port of range that no lease holds; conflict when every one is held.
    Result<PortLease> acquire(PortRange range);

  private:
    friend class PortLease;
    std::set<std::uint16_t> held_;
};

}  // namespace provisioner::server
