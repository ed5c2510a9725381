// What the metrics history records of a VM's report (wire/vm_metrics.h): named as GET /metrics
// names them (prometheus-libvirt-exporter's names, without the domain label: the history's
// entity is the VM), counters marked so that the history keeps their rates.
#pragma once

#include "provisioner/wire/vm_metrics.h"
#include "series_shapes.h"

namespace provisioner::server {

// CPU time, weight, memory maximum and used, vCPUs online and maximum, state, and each disk's
// and interface's counters that libvirt gave (an absent counter is no sample, never a 0). The
// series come from shapes.
SampleSet vm_samples(const wire::VmMetrics& metrics, SeriesShapes& shapes);

}  // namespace provisioner::server
