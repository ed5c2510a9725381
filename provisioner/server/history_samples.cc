#include "history_samples.h"

namespace provisioner::server {

const char* to_string(SeriesKind kind) {
    return kind == SeriesKind::gauge ? "gauge" : "rate";
}

std::string display_name(const Series& series) {
    std::string out = series.metric;
    if (series.labels.empty()) return out;
    out += "{";
    for (std::size_t i = 0; i < series.labels.size(); ++i) {
        if (i) out += ",";
        out += series.labels[i].first + "=\"" + series.labels[i].second + "\"";
    }
    return out + "}";
}

std::vector<Sample> host_samples(const wire::HostMetrics& m) {
    std::vector<Sample> out;
    out.reserve(m.cpu_seconds.size() + 10 + 4 * m.network.size());  // no regrowth
    auto gauge = [&](const char* name, double v, Labels labels = {}) {
        out.push_back({{name, std::move(labels), SeriesKind::gauge}, v});
    };
    auto counter = [&](const char* name, double v, Labels labels = {}) {
        out.push_back({{name, std::move(labels), SeriesKind::counter}, v});
    };
    for (const auto& [mode, seconds] : m.cpu_seconds)
        counter("node_cpu_seconds_total", seconds, {{"mode", mode}});
    gauge("node_memory_MemTotal_bytes", double(m.memory_total_bytes));
    gauge("node_memory_MemAvailable_bytes", double(m.memory_available_bytes));
    gauge("node_load1", m.load1);
    gauge("node_load5", m.load5);
    gauge("node_load15", m.load15);
    gauge("node_boot_time_seconds", m.boot_time_seconds);
    const Labels fs = {{"mountpoint", m.mountpoint}};
    gauge("node_filesystem_size_bytes", double(m.filesystem_size_bytes), fs);
    gauge("node_filesystem_free_bytes", double(m.filesystem_free_bytes), fs);
    gauge("node_filesystem_avail_bytes", double(m.filesystem_avail_bytes), fs);
    for (const wire::NetworkDevice& d : m.network) {
        const Labels dev = {{"device", d.device}};
        counter("node_network_receive_bytes_total", double(d.receive_bytes), dev);
        counter("node_network_transmit_bytes_total", double(d.transmit_bytes), dev);
        counter("node_network_receive_errs_total", double(d.receive_errors), dev);
        counter("node_network_transmit_errs_total", double(d.transmit_errors), dev);
    }
    return out;
}

}  // namespace provisioner::server
