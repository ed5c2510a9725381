#include "top_view.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <sstream>

#include "metrics_view.h"
#include "output/format.h"
#include "output/table.h"

namespace provisioner::cli {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double number(const nlohmann::json& v) {
    return v.is_number() ? v.get<double>() : kNaN;
}

// Adds v to sum, where NaN + x = x (NaN only when nothing was added).
void add(double& sum, double v) {
    if (std::isnan(v)) return;
    sum = std::isnan(sum) ? v : sum + v;
}

TopHost host_of(const nlohmann::json& entry) {
    TopHost h;
    h.name = text(field(entry, "host"));
    double busy = kNaN, all = kNaN, total = kNaN, available = kNaN;
    h.load1 = h.receive_bytes_per_second = h.transmit_bytes_per_second = kNaN;
    for (const auto& s : field(entry, "series")) {
        const std::string name = text(field(s, "name"));
        const double v = number(field(s, "value"));
        const auto& labels = field(s, "labels");
        if (name == "node_cpu_seconds_total") {
            const std::string mode = text(field(labels, "mode"));
            add(all, v);
            if (mode != "idle" && mode != "iowait") add(busy, v);
        } else if (name == "node_memory_MemTotal_bytes") {
            total = v;
        } else if (name == "node_memory_MemAvailable_bytes") {
            available = v;
        } else if (name == "node_load1") {
            h.load1 = v;
        } else if (name == "node_network_receive_bytes_total" && field(labels, "device") != "lo") {
            add(h.receive_bytes_per_second, v);
        } else if (name == "node_network_transmit_bytes_total" && field(labels, "device") != "lo") {
            add(h.transmit_bytes_per_second, v);
        }
    }
    h.cpus = all;
    h.cpu_percent = all > 0 ? 100 * (std::isnan(busy) ? 0 : busy) / all : kNaN;
    h.memory_total_bytes = total;
    h.memory_used_bytes = total - available;
    return h;
}

double key(const TopHost& h, TopSort sort) {
    return sort == TopSort::cpu ? h.cpu_percent : h.memory_used_bytes;
}
double key(const TopVm& v, TopSort sort) {
    return sort == TopSort::cpu ? v.cpu_percent : v.memory_bytes;
}

template <class T>
void sort_rows(std::vector<T>& rows, TopSort sort) {
    std::stable_sort(rows.begin(), rows.end(), [sort](const T& a, const T& b) {
        if (sort == TopSort::name) return a.name < b.name;
        const double x = key(a, sort), y = key(b, sort);
        if (std::isnan(x) || std::isnan(y)) return !std::isnan(x) && std::isnan(y);
        return x > y;
    });
}

nlohmann::json or_null(double v) {
    return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
}

std::string percent(double v) {
    if (std::isnan(v)) return "-";
    char buf[16];
    std::snprintf(buf, sizeof buf, "%.1f%%", v);
    return buf;
}

std::string bytes(double v) {
    return std::isnan(v) || v < 0 ? "-"
                                  : format_bytes(nlohmann::json(std::uint64_t(std::llround(v))));
}

}  // namespace

std::vector<TopHost> top_rows(const nlohmann::json& latest, const nlohmann::json& vms,
                              TopSort sort) {
    std::vector<TopHost> hosts;
    std::map<std::string, std::size_t> index;
    for (const auto& entry : field(latest, "hosts")) {
        index[text(field(entry, "host"))] = hosts.size();
        hosts.push_back(host_of(entry));
    }
    std::map<std::string, const nlohmann::json*> vm_metrics;
    for (const auto& entry : field(latest, "vms")) vm_metrics[text(field(entry, "vm"))] = &entry;
    for (const auto& vm : field(vms, "vms")) {
        auto host = index.find(text(field(vm, "host")));
        if (host == index.end()) continue;
        TopVm v;
        v.name = text(field(vm, "name"));
        v.state = text(field(vm, "state"));
        v.vcpus = std::uint32_t(count(field(vm, "vcpus")));
        v.memory_bytes = double(count(field(vm, "memory_mib"))) * 1024 * 1024;
        v.cpu_percent = kNaN;
        if (auto m = vm_metrics.find(v.name); m != vm_metrics.end()) {
            for (const auto& s : field(*m->second, "series")) {
                const std::string name = text(field(s, "name"));
                const double value = number(field(s, "value"));
                if (name == "libvirt_domain_info_cpu_time_seconds_total" && v.vcpus > 0)
                    v.cpu_percent = 100 * value / v.vcpus;
                else if (name == "libvirt_domain_info_memory_usage_bytes" && !std::isnan(value))
                    v.memory_bytes = value;
            }
        }
        hosts[host->second].vms.push_back(std::move(v));
    }
    sort_rows(hosts, sort);
    for (TopHost& h : hosts) sort_rows(h.vms, sort);
    return hosts;
}

nlohmann::json top_json(const std::vector<TopHost>& hosts) {
    nlohmann::json out = nlohmann::json::array();
    for (const TopHost& h : hosts) {
        nlohmann::json vms = nlohmann::json::array();
        for (const TopVm& v : h.vms)
            vms.push_back({{"name", v.name},
                           {"state", v.state},
                           {"cpu_percent", or_null(v.cpu_percent)},
                           {"memory_bytes", or_null(v.memory_bytes)},
                           {"vcpus", v.vcpus}});
        out.push_back({{"name", h.name},
                       {"cpu_percent", or_null(h.cpu_percent)},
                       {"cpus", or_null(h.cpus)},
                       {"memory_used_bytes", or_null(h.memory_used_bytes)},
                       {"memory_total_bytes", or_null(h.memory_total_bytes)},
                       {"load1", or_null(h.load1)},
                       {"receive_bytes_per_second", or_null(h.receive_bytes_per_second)},
                       {"transmit_bytes_per_second", or_null(h.transmit_bytes_per_second)},
                       {"vms", std::move(vms)}});
    }
    return {{"hosts", std::move(out)}};
}

std::vector<std::string> top_lines(const std::vector<TopHost>& hosts) {
    Table table({"HOST/VM", "CPU", "MEMORY", "OF", "LOAD1", "NET IN/s", "NET OUT/s", "STATE"});
    for (const TopHost& h : hosts) {
        table.add_row({h.name, percent(h.cpu_percent), bytes(h.memory_used_bytes),
                       bytes(h.memory_total_bytes), format_metric_value("load", false, h.load1),
                       bytes(h.receive_bytes_per_second), bytes(h.transmit_bytes_per_second)});
        for (const TopVm& v : h.vms)
            table.add_row({"  " + v.name, percent(v.cpu_percent), bytes(v.memory_bytes),
                           std::to_string(v.vcpus) + " vCPU", "", "", "", v.state});
    }
    for (std::size_t c = 1; c <= 6; ++c) table.align_right(c);
    std::vector<std::string> lines;
    std::istringstream in(table.render());
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

}  // namespace provisioner::cli
