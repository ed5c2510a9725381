// The "metrics" object of a reported VM (vm_metrics.h), private to provisioner/wire.
#pragma once

#include <nlohmann/json.hpp>

#include "provisioner/wire/vm_metrics.h"
#include "reader.h"

namespace provisioner::wire::detail {

nlohmann::json encode_vm_metrics(const VmMetrics& metrics);
// Reads the object r stands for (present()); errors are recorded in r.
void read_vm_metrics(Reader r, VmMetrics& out);

}  // namespace provisioner::wire::detail
