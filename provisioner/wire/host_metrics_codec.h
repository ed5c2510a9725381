// The "metrics" object of a Dom0 report (host_metrics.h), private to provisioner/wire.
#pragma once

#include <nlohmann/json.hpp>

#include "provisioner/wire/host_metrics.h"
#include "reader.h"

namespace provisioner::wire::detail {

nlohmann::json encode_host_metrics(const HostMetrics& metrics);
// Reads the object r stands for (present()); errors are recorded in r.
void read_host_metrics(Reader r, HostMetrics& out);

}  // namespace provisioner::wire::detail
