// This host's metrics for the Dom0 report (wire/host_metrics.h): each /proc file has a parser
// that takes the file's text, so tests run them on fixed text; read_host_metrics reads the
// files under a root (tests: a fake tree) and statvfs(2)s the root's filesystem.
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include "provisioner/status.h"
#include "provisioner/wire/host_metrics.h"

namespace provisioner::agent {

// /proc/stat: the aggregate "cpu" line, in clock ticks, as seconds by mode (ticks_per_second:
// sysconf(_SC_CLK_TCK)), and "btime" into boot_time_seconds. Refuses text without a cpu line.
Status parse_proc_stat(std::string_view text, double ticks_per_second, wire::HostMetrics& out);
// /proc/meminfo: MemTotal and MemAvailable (kB) as bytes. Refuses text without MemTotal.
Status parse_meminfo(std::string_view text, wire::HostMetrics& out);
// /proc/loadavg: the 1, 5 and 15 minute loads.
Status parse_loadavg(std::string_view text, wire::HostMetrics& out);
// /proc/uptime: seconds since boot.
Status parse_uptime(std::string_view text, wire::HostMetrics& out);
// /proc/net/dev: every interface's received and sent bytes and errors ("lo" included, as
// node_exporter does).
Result<std::vector<wire::NetworkDevice>> parse_net_dev(std::string_view text);

// All of the above from root/proc, and statvfs(root) as the filesystem of "/". The first file
// that cannot be read or parsed is the error (the report then goes without metrics).
Result<wire::HostMetrics> read_host_metrics(const std::filesystem::path& root);

}  // namespace provisioner::agent
