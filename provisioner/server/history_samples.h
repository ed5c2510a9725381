// What the metrics history (metrics_history.h) records of a report: the wire's metrics as
// samples named as GET /metrics names them (node_exporter's names for a host), counters marked
// as such so that the history keeps their rates.
#pragma once

#include "provisioner/wire/host_metrics.h"
#include "series_shapes.h"

namespace provisioner::server {

// Every field of a host's report: CPU seconds by mode, memory, load, boot time, uptime, the
// filesystem, and each interface's bytes and errors. The series come from shapes.
SampleSet host_samples(const wire::HostMetrics& metrics, SeriesShapes& shapes);

}  // namespace provisioner::server
