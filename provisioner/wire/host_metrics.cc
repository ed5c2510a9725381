#include "provisioner/wire/host_metrics.h"

#include <cmath>
#include <limits>

#include "host_metrics_codec.h"

namespace provisioner::wire {

const std::vector<std::string>& cpu_modes() {
    static const std::vector<std::string> modes = {"user",   "nice", "system",  "idle",
                                                   "iowait", "irq",  "softirq", "steal"};
    return modes;
}

namespace detail {

using nlohmann::json;

json encode_host_metrics(const HostMetrics& m) {
    json cpu = json::object();
    for (const auto& [mode, seconds] : m.cpu_seconds) cpu[mode] = seconds;
    json network = json::array();
    for (const NetworkDevice& d : m.network)
        network.push_back({{"device", d.device},
                           {"receive_bytes", d.receive_bytes},
                           {"transmit_bytes", d.transmit_bytes},
                           {"receive_errors", d.receive_errors},
                           {"transmit_errors", d.transmit_errors}});
    return {{"cpu_seconds", std::move(cpu)},
            {"memory_total_bytes", m.memory_total_bytes},
            {"memory_available_bytes", m.memory_available_bytes},
            {"load1", m.load1},
            {"load5", m.load5},
            {"load15", m.load15},
            {"boot_time_seconds", m.boot_time_seconds},
            {"uptime_seconds", m.uptime_seconds},
            {"network", std::move(network)},
            {"filesystem",
             {{"mountpoint", m.mountpoint},
              {"size_bytes", m.filesystem_size_bytes},
              {"free_bytes", m.filesystem_free_bytes},
              {"avail_bytes", m.filesystem_avail_bytes}}}};
}

void read_host_metrics(Reader r, HostMetrics& out) {
    Reader cpu = r.child("cpu_seconds", Need::optional);
    if (cpu.present()) {
        for (const std::string& mode : cpu_modes()) {
            double seconds = std::numeric_limits<double>::quiet_NaN();
            cpu.number(mode.c_str(), seconds, Need::optional);
            if (std::isnan(seconds)) continue;  // absent
            if (seconds < 0) return cpu.fail(mode.c_str(), "must not be negative");
            out.cpu_seconds[mode] = seconds;
        }
    }
    r.unsigned_integer("memory_total_bytes", out.memory_total_bytes, Need::optional);
    r.unsigned_integer("memory_available_bytes", out.memory_available_bytes, Need::optional);
    r.number("load1", out.load1, Need::optional);
    r.number("load5", out.load5, Need::optional);
    r.number("load15", out.load15, Need::optional);
    r.number("boot_time_seconds", out.boot_time_seconds, Need::optional);
    r.number("uptime_seconds", out.uptime_seconds, Need::optional);
    if (const json* network = r.array("network", Need::optional)) {
        for (std::size_t i = 0; i < network->size() && r.ok(); ++i) {
            Reader d = r.element("network", i, (*network)[i]);
            NetworkDevice& dev = out.network.emplace_back();
            d.nonempty_string("device", dev.device, Need::required);
            d.unsigned_integer("receive_bytes", dev.receive_bytes, Need::optional);
            d.unsigned_integer("transmit_bytes", dev.transmit_bytes, Need::optional);
            d.unsigned_integer("receive_errors", dev.receive_errors, Need::optional);
            d.unsigned_integer("transmit_errors", dev.transmit_errors, Need::optional);
        }
    }
    Reader fs = r.child("filesystem", Need::optional);
    if (fs.present()) {
        fs.nonempty_string("mountpoint", out.mountpoint, Need::optional);
        fs.unsigned_integer("size_bytes", out.filesystem_size_bytes, Need::optional);
        fs.unsigned_integer("free_bytes", out.filesystem_free_bytes, Need::optional);
        fs.unsigned_integer("avail_bytes", out.filesystem_avail_bytes, Need::optional);
    }
}

}  // namespace detail
}  // namespace provisioner::wire
