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

SampleSet host_samples(const wire::HostMetrics& m, SeriesShapes& shapes) {
    using enum SeriesKind;  // gauge, counter
    auto walk = [&m](auto&& emit) {
        for (const auto& [mode, seconds] : m.cpu_seconds)
            emit(0, counter, "node_cpu_seconds_total", seconds, "mode", mode);
        emit(1, gauge, "node_memory_MemTotal_bytes", double(m.memory_total_bytes), "", "");
        emit(2, gauge, "node_memory_MemAvailable_bytes", double(m.memory_available_bytes), "", "");
        emit(3, gauge, "node_load1", m.load1, "", "");
        emit(4, gauge, "node_load5", m.load5, "", "");
        emit(5, gauge, "node_load15", m.load15, "", "");
        emit(6, gauge, "node_boot_time_seconds", m.boot_time_seconds, "", "");
        const std::string& fs = m.mountpoint;
        emit(7, gauge, "node_filesystem_size_bytes", double(m.filesystem_size_bytes), "mountpoint", fs);
        emit(8, gauge, "node_filesystem_free_bytes", double(m.filesystem_free_bytes), "mountpoint", fs);
        emit(9, gauge, "node_filesystem_avail_bytes", double(m.filesystem_avail_bytes), "mountpoint", fs);
        for (const wire::NetworkDevice& d : m.network) {
            const std::string& dev = d.device;
            emit(10, counter, "node_network_receive_bytes_total", double(d.receive_bytes), "device", dev);
            emit(11, counter, "node_network_transmit_bytes_total", double(d.transmit_bytes), "device", dev);
            emit(12, counter, "node_network_receive_errs_total", double(d.receive_errors), "device", dev);
            emit(13, counter, "node_network_transmit_errs_total", double(d.transmit_errors), "device", dev);
        }
    };
    return shapes.build('h', m.cpu_seconds.size() + 9 + 4 * m.network.size(), walk);
}

}  // namespace provisioner::server
