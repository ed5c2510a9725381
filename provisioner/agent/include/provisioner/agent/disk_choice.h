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

// Why choose_disk chose what it did, for the operator: "the job names it", "--disk names it",
// or "the largest non-removable disk (sdb 500.0 GiB; also sda 250.0 GiB)".
std::string disk_choice_reason(const std::string& job_disk, const std::string& flag_disk,
                               const Facts& facts);

}  // namespace provisioner::agent
