// Which block device the agent writes the image to.
#pragma once

#include <string>

#include "imaging/status.h"
#include "provisioner/agent/facts.h"

namespace provisioner::agent {

// The job's disk when it names one, else the operator's --disk, else the largest
// non-removable disk of non-zero size in the facts (the first by name on a tie). A bare name
// ("sda") becomes "/dev/sda". An error, saying what the host has, when none qualifies.
imaging::Result<std::string> choose_disk(const std::string& job_disk, const std::string& flag_disk,
                                         const Facts& facts);

}  // namespace provisioner::agent
