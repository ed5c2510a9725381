#include <limits>

#include "vm_metrics_codec.h"

namespace provisioner::wire::detail {

using nlohmann::json;

namespace {

void put(json& out, const char* key, const Counter& value) {
    if (value) out[key] = *value;
}

// An optional counter: absent stays std::nullopt.
void read_counter(Reader& r, const char* key, Counter& out) {
    constexpr std::uint64_t kAbsent = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t value = kAbsent;
    r.unsigned_integer(key, value, Need::optional, kAbsent - 1);
    if (r.ok() && value != kAbsent) out = value;
}

}  // namespace

json encode_vm_metrics(const VmMetrics& m) {
    json disks = json::array();
    for (const VmDiskStats& d : m.disks) {
        json entry = {{"device", d.device}, {"source", d.source}};
        put(entry, "read_bytes", d.read_bytes);
        put(entry, "read_requests", d.read_requests);
        put(entry, "write_bytes", d.write_bytes);
        put(entry, "write_requests", d.write_requests);
        disks.push_back(std::move(entry));
    }
    json interfaces = json::array();
    for (const VmInterfaceStats& i : m.interfaces) {
        json entry = {{"device", i.device}};
        put(entry, "receive_bytes", i.receive_bytes);
        put(entry, "receive_packets", i.receive_packets);
        put(entry, "receive_errors", i.receive_errors);
        put(entry, "receive_drops", i.receive_drops);
        put(entry, "transmit_bytes", i.transmit_bytes);
        put(entry, "transmit_packets", i.transmit_packets);
        put(entry, "transmit_errors", i.transmit_errors);
        put(entry, "transmit_drops", i.transmit_drops);
        interfaces.push_back(std::move(entry));
    }
    json out = {{"state_code", m.state_code},
                {"cpu_time_seconds", m.cpu_time_seconds},
                {"memory_maximum_bytes", m.memory_maximum_bytes},
                {"memory_used_bytes", m.memory_used_bytes},
                {"vcpus_online", m.vcpus_online},
                {"vcpus_maximum", m.vcpus_maximum},
                {"disks", std::move(disks)},
                {"interfaces", std::move(interfaces)}};
    if (!m.uuid.empty()) out["uuid"] = m.uuid;
    if (!m.cpu_weight_parameter.empty()) {
        out["cpu_weight_parameter"] = m.cpu_weight_parameter;
        out["cpu_weight"] = m.cpu_weight;
    }
    return out;
}

void read_vm_metrics(Reader r, VmMetrics& out) {
    r.nonempty_string("uuid", out.uuid, Need::optional);
    std::uint64_t state = 0;
    r.unsigned_integer("state_code", state, Need::optional, kMaxStateCode);
    out.state_code = int(state);
    r.number("cpu_time_seconds", out.cpu_time_seconds, Need::optional);
    if (r.ok() && !(out.cpu_time_seconds >= 0))
        return r.fail("cpu_time_seconds", "must not be negative");
    r.nonempty_string("cpu_weight_parameter", out.cpu_weight_parameter, Need::optional);
    r.unsigned_integer("cpu_weight", out.cpu_weight, Need::optional);
    if (out.cpu_weight_parameter.empty()) out.cpu_weight = 0;  // a value without its meaning
    r.unsigned_integer("memory_maximum_bytes", out.memory_maximum_bytes, Need::optional);
    r.unsigned_integer("memory_used_bytes", out.memory_used_bytes, Need::optional);
    r.unsigned_integer("vcpus_online", out.vcpus_online, Need::optional);
    r.unsigned_integer("vcpus_maximum", out.vcpus_maximum, Need::optional);
    if (const json* disks = r.array("disks", Need::optional)) {
        for (std::size_t i = 0; i < disks->size() && r.ok(); ++i) {
            Reader d = r.element("disks", i, (*disks)[i]);
            VmDiskStats& disk = out.disks.emplace_back();
            d.nonempty_string("device", disk.device, Need::required);
            d.string("source", disk.source, Need::optional);
            read_counter(d, "read_bytes", disk.read_bytes);
            read_counter(d, "read_requests", disk.read_requests);
            read_counter(d, "write_bytes", disk.write_bytes);
            read_counter(d, "write_requests", disk.write_requests);
        }
    }
    if (const json* interfaces = r.array("interfaces", Need::optional)) {
        for (std::size_t i = 0; i < interfaces->size() && r.ok(); ++i) {
            Reader n = r.element("interfaces", i, (*interfaces)[i]);
            VmInterfaceStats& nic = out.interfaces.emplace_back();
            n.nonempty_string("device", nic.device, Need::required);
            read_counter(n, "receive_bytes", nic.receive_bytes);
            read_counter(n, "receive_packets", nic.receive_packets);
            read_counter(n, "receive_errors", nic.receive_errors);
            read_counter(n, "receive_drops", nic.receive_drops);
            read_counter(n, "transmit_bytes", nic.transmit_bytes);
            read_counter(n, "transmit_packets", nic.transmit_packets);
            read_counter(n, "transmit_errors", nic.transmit_errors);
            read_counter(n, "transmit_drops", nic.transmit_drops);
        }
    }
}

}  // namespace provisioner::wire::detail
