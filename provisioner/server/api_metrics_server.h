// The server's own and the inventory's series of GET /metrics (server_metrics.h,
// metrics_inventory.h), gathered from the store and the server's parts at a scrape.
#pragma once

#include <string>
#include <vector>

#include "api.h"

namespace provisioner::server {

// Appends them to out; hosts and reports are the inventory's hosts and the Dom0 agents' last
// reports the scrape already read (borrowed for the call, not copied: at 10,000 hosts of 20
// VMs a copy is a quarter of a million strings; they are as they were when it returns). An
// error when the store cannot be read.
Status append_server_metrics(ApiContext& ctx, std::vector<Host>& hosts,
                             std::vector<HostReport>& reports, std::string& out);

}  // namespace provisioner::server
