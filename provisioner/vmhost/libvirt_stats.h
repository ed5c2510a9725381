// Reading a domain's statistics through libvirt's C API (private to provisioner/vmhost).
#pragma once

#include <libvirt/libvirt.h>

#include <optional>

#include "provisioner/vmhost/domain_stats.h"

namespace provisioner::vmhost {

// std::nullopt when virDomainGetInfo fails (libvirt's last error says why); the maximum
// vCPUs, the scheduler's parameters and each device's statistics are read as far as the
// driver gives them, and libvirt's error for one it refuses is cleared.
std::optional<DomainStats> read_domain_stats(virDomainPtr dom);

}  // namespace provisioner::vmhost
