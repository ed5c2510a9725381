// A domain's statistics as libvirt gives them (vmhost/domain_stats.h) in the units the Dom0
// report carries (wire/vm_metrics.h): nanoseconds to seconds, KiB to bytes, libvirt's -1
// ("not given") to an absent counter, and the scheduler's weight under the name its
// scheduler gives it. Pure, so it is tested on values written by hand.
#pragma once

#include "provisioner/vmhost/domain_stats.h"
#include "provisioner/wire/vm_metrics.h"

namespace provisioner::agent {

// state_code: libvirt's state when it is one of virDomainState's (0..7), else 0 (no state).
// vcpus_maximum: max_vcpus, or the online count when libvirt gave none. cpu_weight: the
// first of the scheduler's "weight" (Xen's credit schedulers, the test driver) and
// "cpu_shares" (KVM's cgroups) that is present and not negative; none: left empty.
wire::VmMetrics vm_metrics(const vmhost::DomainStats& stats);

}  // namespace provisioner::agent
