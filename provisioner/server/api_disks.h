// /api/v1/agent/disks/{transfer}: the disk of a VM on a cold move, uploaded in chunks by the
// source host's agent and downloaded by the destination's (provisioner/API.md, "Moving a
// VM"). Only the two hosts of a move under way (VmRegistry::transfer_hosts) may use its
// transfer: the source writes, either reads.
#pragma once

#include <memory>

#include "api.h"
#include "disk_transfers.h"

namespace provisioner::server {

// disks must outlive the router's use of these routes (the handlers share it).
void mount_disk_api(imaging::http::Router& router, ApiContext& ctx,
                    std::shared_ptr<DiskTransfers> disks);

}  // namespace provisioner::server
