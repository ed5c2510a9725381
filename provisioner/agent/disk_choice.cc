#include "provisioner/agent/disk_choice.h"

#include "imaging/progress.h"

namespace provisioner::agent {
namespace {

std::string device_path(const std::string& disk) {
    return disk.starts_with("/") ? disk : "/dev/" + disk;
}

}  // namespace

imaging::Result<std::string> choose_disk(const std::string& job_disk, const std::string& flag_disk,
                                         const Facts& facts) {
    if (!job_disk.empty()) return device_path(job_disk);
    if (!flag_disk.empty()) return device_path(flag_disk);
    const DiskFact* best = nullptr;
    std::string seen;
    for (const auto& d : facts.disks) {
        seen += (seen.empty() ? "" : ", ") + d.name + (d.removable ? " (removable)" : "") +
                (d.size_bytes == 0 ? " (empty)" : "");
        if (d.removable || d.size_bytes == 0) continue;
        if (!best || d.size_bytes > best->size_bytes) best = &d;
    }
    if (!best)
        return imaging::Status::error(
            "no disk to write the image to: no non-removable disk found (" +
            (seen.empty() ? std::string("no disks at all") : "seen: " + seen) +
            "); name one with --disk");
    return best->path;
}

std::string disk_choice_reason(const std::string& job_disk, const std::string& flag_disk,
                               const Facts& facts) {
    if (!job_disk.empty()) return "the job names it";
    if (!flag_disk.empty()) return "--disk names it";
    auto chosen = choose_disk(job_disk, flag_disk, facts);
    if (!chosen) return chosen.status().message();
    std::string mine, others;
    for (const auto& d : facts.disks) {
        std::string one = d.name + " " + imaging::human_bytes(double(d.size_bytes)) +
                          (d.removable ? " removable" : "");
        if (d.path == *chosen && mine.empty())
            mine = one;
        else
            others += (others.empty() ? "" : ", ") + one;
    }
    return "the largest non-removable disk (" + mine + (others.empty() ? "" : "; also " + others) +
           ")";
}

}  // namespace provisioner::agent
