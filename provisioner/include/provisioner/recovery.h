// What provisionerd does on start after a crash (kill -9 mid-deployment).
#pragma once

#include <vector>

#include "provisioner/records.h"
#include "provisioner/store.h"

namespace provisioner {

inline constexpr const char* kInterruptedReason = "interrupted: server restarted";

struct RecoveryReport {
    std::vector<HostId> hosts_failed;  // were booting or imaging
    std::vector<DeploymentId> deployments_interrupted;
};

// Marks every host left booting or imaging as failed (reason kInterruptedReason), which makes
// it deployable again; fails its unfinished deployment targets with that error; and marks
// running deployments interrupted. One transaction. Call it once at server start, before
// serving: it assumes no other live server drives these hosts (true for the SQLite store).
Result<RecoveryReport> recover_interrupted(Store& store);

}  // namespace provisioner
