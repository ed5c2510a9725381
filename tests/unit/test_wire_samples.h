// Wire values the wire tests share: one VM's libvirt metrics with every kind of counter (known,
// unknown, zero) on a disk and two interfaces.
#pragma once

#include <optional>

#include "provisioner/wire/dom0.h"

namespace wiretest {

inline provisioner::wire::VmMetrics sample_vm_metrics() {
    provisioner::wire::VmMetrics m;
    m.uuid = "6695eb01-f6a4-8304-79aa-97f2502e193f";
    m.state_code = 1;
    m.cpu_time_seconds = 1796.431897;
    m.cpu_weight_parameter = "cpu_shares";
    m.cpu_weight = 1024;
    m.memory_maximum_bytes = 8ull << 30;
    m.memory_used_bytes = 2ull << 30;
    m.vcpus_online = 2;
    m.vcpus_maximum = 4;
    m.disks = {{"vda", "/var/disks/web1.qcow2", 1000, 10, 2000, 20},
               {"hdc", "", std::nullopt, std::nullopt, std::nullopt, std::nullopt}};
    m.interfaces = {{"vnet0", 1, 2, 3, 4, 5, 6, 7, 8},
                    {"52:54:00:aa:bb:cc", 9, std::nullopt, 0, 0, 10, std::nullopt, 0, 0}};
    return m;
}

}  // namespace wiretest
