// provisionerd's process as Prometheus' client libraries name it (process_cpu_seconds_total,
// process_resident_memory_bytes, ...), read from /proc/self at each scrape.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace provisioner::server {

struct ProcessStats {
    double cpu_seconds = 0;  // user + system, every thread
    std::uint64_t resident_bytes = 0;
    std::uint64_t virtual_bytes = 0;
    double start_time_seconds = 0;  // Unix time
    std::uint64_t threads = 0;
};

// From the text of /proc/PID/stat; nullopt when it does not read as one. ticks_per_second
// (sysconf _SC_CLK_TCK), page_size and boot_time_seconds (/proc/stat btime) as the machine's.
std::optional<ProcessStats> parse_proc_stat(std::string_view stat, long ticks_per_second,
                                            long page_size, double boot_time_seconds);

// Appends the process_* families for this process (those it cannot read are left out).
void write_process_metrics(std::string& out);

}  // namespace provisioner::server
