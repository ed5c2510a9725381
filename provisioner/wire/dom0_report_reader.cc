// read_dom0_report (dom0.h): a Dom0 report straight from its text through nlohmann's SAX
// interface, with no DOM in between. It only ever accepts what decode<Dom0Report> accepts,
// with the same values: every rule below mirrors one of dom0.cc, host_metrics.cc and
// vm_metrics.cc (the network services of a VM, rare, are gathered into a small DOM each and
// read by netservice.cc itself). On anything it does not accept, or would read differently
// from the DOM (a key given twice: the DOM keeps the last; a null: the DOM reads it as absent
// or missing), it gives up, and the caller decodes a DOM, which names the error.
// tests/fuzz/fuzz_wire checks the two agree on every input it makes.
#include <cstdint>
#include <limits>
#include <string_view>
#include <utility>
#include <vector>

#include "netservice_codec.h"
#include "provisioner/wire/dom0.h"
#include "reader.h"

namespace provisioner::wire {

namespace {

using nlohmann::json;

// What the next event belongs to: an object or an array of the report, or a part of it that
// is skipped (an unknown field) or gathered into a DOM (a VM's network service).
enum class Frame : std::uint8_t {
    report,
    capacity,
    vms,
    vm,
    vm_metrics,
    disks,
    disk,
    interfaces,
    interface,
    host_metrics,
    cpu_seconds,
    network,
    network_device,
    filesystem,
    templates,
    netservices,
    netservice,
    skip,
};

// The fields each object frame reads, by index (a frame's `seen` has one bit each).
constexpr std::string_view kReportKeys[] = {"v", "mac", "capacity", "vms", "metrics", "templates"};
enum ReportKey { r_v, r_mac, r_capacity, r_vms, r_metrics, r_templates };
constexpr std::string_view kCapacityKeys[] = {
    "vcpus",       "memory_mib",    "load", "reserved_vcpus", "reserved_memory_mib",
    "libvirt_uri", "live_migration"};
enum CapacityKey { c_vcpus, c_memory, c_load, c_reserved_vcpus, c_reserved_memory, c_uri, c_live };
constexpr std::string_view kVmKeys[] = {"name",        "vcpus",   "memory_mib",
                                        "template",    "state",   "restart_pending",
                                        "domain_type", "metrics", "netservices"};
enum VmKey {
    v_name,
    v_vcpus,
    v_memory,
    v_template,
    v_state,
    v_restart,
    v_domain,
    v_metrics,
    v_netservices
};
constexpr std::string_view kVmMetricsKeys[] = {"uuid",
                                               "state_code",
                                               "cpu_time_seconds",
                                               "cpu_weight_parameter",
                                               "cpu_weight",
                                               "memory_maximum_bytes",
                                               "memory_used_bytes",
                                               "vcpus_online",
                                               "vcpus_maximum",
                                               "disks",
                                               "interfaces"};
enum VmMetricsKey {
    m_uuid,
    m_state,
    m_cpu_time,
    m_weight_parameter,
    m_weight,
    m_memory_max,
    m_memory_used,
    m_vcpus_online,
    m_vcpus_max,
    m_disks,
    m_interfaces
};
constexpr std::string_view kDiskKeys[] = {"device",        "source",      "read_bytes",
                                          "read_requests", "write_bytes", "write_requests"};
constexpr std::string_view kInterfaceKeys[] = {
    "device",         "receive_bytes",    "receive_packets", "receive_errors", "receive_drops",
    "transmit_bytes", "transmit_packets", "transmit_errors", "transmit_drops"};
constexpr std::string_view kHostMetricsKeys[] = {
    "cpu_seconds", "memory_total_bytes", "memory_available_bytes", "load1",   "load5",
    "load15",      "boot_time_seconds",  "uptime_seconds",         "network", "filesystem"};
enum HostKey {
    h_cpu,
    h_memory_total,
    h_memory_available,
    h_load1,
    h_load5,
    h_load15,
    h_boot,
    h_uptime,
    h_network,
    h_filesystem
};
constexpr std::string_view kNetworkKeys[] = {"device", "receive_bytes", "transmit_bytes",
                                             "receive_errors", "transmit_errors"};
constexpr std::string_view kFilesystemKeys[] = {"mountpoint", "size_bytes", "free_bytes",
                                                "avail_bytes"};

template <std::size_t N>
int find_key(const std::string_view (&keys)[N], std::string_view key) {
    for (std::size_t i = 0; i < N; ++i)
        if (keys[i] == key) return int(i);
    return -1;
}

// One scalar of the document.
struct Value {
    enum class Type { boolean, integer, unsigned_integer, floating, string } type;
    bool b = false;
    std::int64_t i = 0;
    std::uint64_t u = 0;
    double d = 0;
    std::string* s = nullptr;
};

// Reader::unsigned_integer's rule: an integer, not negative, at most max.
bool unsigned_value(const Value& v, std::uint64_t max, std::uint64_t& out) {
    if (v.type == Value::Type::unsigned_integer && v.u <= max) {
        out = v.u;
        return true;
    }
    if (v.type == Value::Type::integer && v.i >= 0 && std::uint64_t(v.i) <= max) {
        out = std::uint64_t(v.i);
        return true;
    }
    return false;
}

template <class T>
bool unsigned_value(const Value& v, T& out) {
    std::uint64_t wide = 0;
    if (!unsigned_value(v, std::numeric_limits<T>::max(), wide)) return false;
    out = T(wide);
    return true;
}

// vm_metrics.cc's read_counter: at most 2^64 - 2.
bool counter_value(const Value& v, Counter& out) {
    std::uint64_t wide = 0;
    if (!unsigned_value(v, std::numeric_limits<std::uint64_t>::max() - 1, wide)) return false;
    out = wide;
    return true;
}

bool number_value(const Value& v, double& out) {
    switch (v.type) {
        case Value::Type::integer:
            out = double(v.i);
            return true;
        case Value::Type::unsigned_integer:
            out = double(v.u);
            return true;
        case Value::Type::floating:
            out = v.d;
            return true;
        default:
            return false;
    }
}

bool string_value(const Value& v, std::string& out) {
    if (v.type != Value::Type::string) return false;
    out = std::move(*v.s);
    return true;
}

bool nonempty_string_value(const Value& v, std::string& out) {
    return v.type == Value::Type::string && !v.s->empty() && string_value(v, out);
}

bool boolean_value(const Value& v, bool& out) {
    if (v.type != Value::Type::boolean) return false;
    out = v.b;
    return true;
}

class ReportSax {
  public:
    using number_integer_t = json::number_integer_t;
    using number_unsigned_t = json::number_unsigned_t;
    using number_float_t = json::number_float_t;
    using string_t = json::string_t;
    using binary_t = json::binary_t;

    explicit ReportSax(unsigned max_depth) : max_depth_(max_depth) {}

    Dom0Report report;

    bool null() {
        if (top() == Frame::skip) return true;
        if (top() == Frame::netservice) return gathered(json(nullptr));
        return false;  // read as absent (or missing) by the DOM: left to it
    }
    bool boolean(bool b) { return scalar({Value::Type::boolean, b, 0, 0, 0, nullptr}); }
    bool number_integer(number_integer_t i) {
        return scalar({Value::Type::integer, false, i, 0, 0, nullptr});
    }
    bool number_unsigned(number_unsigned_t u) {
        return scalar({Value::Type::unsigned_integer, false, 0, u, 0, nullptr});
    }
    bool number_float(number_float_t d, const string_t&) {
        return scalar({Value::Type::floating, false, 0, 0, d, nullptr});
    }
    bool string(string_t& s) { return scalar({Value::Type::string, false, 0, 0, 0, &s}); }
    bool binary(binary_t&) { return false; }

    bool start_object(std::size_t) {
        if (++depth_ > max_depth_) return false;
        if (stack_.empty()) return push(Frame::report);
        Level& at = stack_.back();
        switch (at.frame) {
            case Frame::skip:
                return push(Frame::skip);
            case Frame::netservice:
                return gather_open(json::object());
            case Frame::report:
                if (at.key == r_capacity) return push(Frame::capacity);
                if (at.key == r_metrics) {
                    report.metrics.emplace();
                    return push(Frame::host_metrics);
                }
                break;
            case Frame::vm:
                if (at.key == v_metrics) {
                    report.vms.back().metrics.emplace();
                    return push(Frame::vm_metrics);
                }
                break;
            case Frame::host_metrics:
                if (at.key == h_cpu) return push(Frame::cpu_seconds);
                if (at.key == h_filesystem) return push(Frame::filesystem);
                break;
            case Frame::vms:
                report.vms.emplace_back();
                return push(Frame::vm);
            case Frame::disks:
                report.vms.back().metrics->disks.emplace_back();
                return push(Frame::disk);
            case Frame::interfaces:
                report.vms.back().metrics->interfaces.emplace_back();
                return push(Frame::interface);
            case Frame::network:
                report.metrics->network.emplace_back();
                return push(Frame::network_device);
            case Frame::netservices:
                gathering_.clear();
                push(Frame::netservice);
                return gather_open(json::object());
            default:
                break;
        }
        return at.key < 0 && is_object(at.frame) && push(Frame::skip);  // an unknown field
    }

    bool end_object() {
        --depth_;
        Level& at = stack_.back();
        switch (at.frame) {
            case Frame::netservice:
                return gather_close();
            case Frame::report:
                if (!at.has(r_capacity)) return false;
                break;
            case Frame::capacity:
                if (!at.has(c_vcpus) || !at.has(c_memory)) return false;
                break;
            case Frame::vm:
                if (!at.has(v_name)) return false;
                break;
            case Frame::vm_metrics: {
                VmMetrics& m = *report.vms.back().metrics;
                if (m.cpu_weight_parameter.empty()) m.cpu_weight = 0;  // as vm_metrics.cc
                break;
            }
            case Frame::disk:
            case Frame::interface:
            case Frame::network_device:
                if (!at.has(0)) return false;  // "device"
                break;
            default:
                break;
        }
        stack_.pop_back();
        return true;
    }

    bool start_array(std::size_t) {
        if (++depth_ > max_depth_) return false;
        if (stack_.empty()) return false;  // a report is an object
        Level& at = stack_.back();
        switch (at.frame) {
            case Frame::skip:
                return push(Frame::skip);
            case Frame::netservice:
                return gather_open(json::array());
            case Frame::report:
                if (at.key == r_vms) return push(Frame::vms);
                if (at.key == r_templates) return push(Frame::templates);
                break;
            case Frame::vm:
                if (at.key == v_netservices) return push(Frame::netservices);
                break;
            case Frame::vm_metrics:
                if (at.key == m_disks) return push(Frame::disks);
                if (at.key == m_interfaces) return push(Frame::interfaces);
                break;
            case Frame::host_metrics:
                if (at.key == h_network) return push(Frame::network);
                break;
            default:
                break;
        }
        return at.key < 0 && is_object(at.frame) && push(Frame::skip);
    }

    bool end_array() {
        --depth_;
        if (stack_.back().frame == Frame::netservice) return gather_close();
        stack_.pop_back();
        return true;
    }

    bool key(string_t& name) {
        Level& at = stack_.back();
        if (at.frame == Frame::skip) return true;
        if (at.frame == Frame::netservice) {
            gather_key_ = std::move(name);
            return true;
        }
        at.key = key_index(at.frame, name);
        if (at.key < 0) return true;       // unknown fields are ignored
        if (at.has(at.key)) return false;  // given twice: the DOM keeps the last
        at.seen |= std::uint32_t(1) << at.key;
        return true;
    }

    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
        return false;
    }

  private:
    struct Level {
        Frame frame;
        int key = -1;            // the field being read (-1: unknown)
        std::uint32_t seen = 0;  // the fields read so far
        bool has(int k) const { return (seen >> k) & 1; }
    };

    static bool is_object(Frame f) {
        return f != Frame::vms && f != Frame::disks && f != Frame::interfaces &&
               f != Frame::network && f != Frame::templates && f != Frame::netservices;
    }

    static int key_index(Frame frame, std::string_view name) {
        switch (frame) {
            case Frame::report:
                return find_key(kReportKeys, name);
            case Frame::capacity:
                return find_key(kCapacityKeys, name);
            case Frame::vm:
                return find_key(kVmKeys, name);
            case Frame::vm_metrics:
                return find_key(kVmMetricsKeys, name);
            case Frame::disk:
                return find_key(kDiskKeys, name);
            case Frame::interface:
                return find_key(kInterfaceKeys, name);
            case Frame::host_metrics:
                return find_key(kHostMetricsKeys, name);
            case Frame::cpu_seconds: {  // the modes this side knows; the rest are ignored
                const auto& modes = cpu_modes();
                for (std::size_t i = 0; i < modes.size(); ++i)
                    if (modes[i] == name) return int(i);
                return -1;
            }
            case Frame::network_device:
                return find_key(kNetworkKeys, name);
            case Frame::filesystem:
                return find_key(kFilesystemKeys, name);
            default:
                return -1;
        }
    }

    Frame top() const { return stack_.empty() ? Frame::report : stack_.back().frame; }

    bool push(Frame f) {
        stack_.push_back({f});
        return true;
    }

    bool scalar(const Value& v) {
        if (stack_.empty()) return false;  // a report is an object
        Level& at = stack_.back();
        switch (at.frame) {
            case Frame::skip:
                return true;
            case Frame::netservice:
                return gathered(scalar_json(v));
            case Frame::templates:
                return template_ref(v);
            case Frame::vms:
            case Frame::disks:
            case Frame::interfaces:
            case Frame::network:
            case Frame::netservices:
                return false;  // their elements are objects
            default:
                if (at.key < 0) return true;  // an unknown field
                return field(at.frame, at.key, v);
        }
    }

    // The rules of dom0.cc, vm_metrics.cc and host_metrics.cc, field by field.
    bool field(Frame frame, int key, const Value& v) {
        switch (frame) {
            case Frame::report:
                if (key == r_v) {  // Reader::version: an integer from 1 to kVersion
                    std::uint64_t version = 0;
                    return unsigned_value(v, Dom0Report::kVersion, version) && version >= 1;
                }
                if (key == r_mac) return nonempty_string_value(v, report.mac);
                return false;  // capacity, vms, metrics, templates: not scalars
            case Frame::capacity: {
                Capacity& c = report.capacity;
                switch (key) {
                    case c_vcpus:
                        return unsigned_value(v, c.vcpus);
                    case c_memory:
                        return unsigned_value(v, c.memory_mib);
                    case c_load:
                        return number_value(v, c.load);
                    case c_reserved_vcpus:
                        return unsigned_value(v, c.reserved_vcpus);
                    case c_reserved_memory:
                        return unsigned_value(v, c.reserved_memory_mib);
                    case c_uri:
                        return string_value(v, c.libvirt_uri);
                    case c_live:
                        return boolean_value(v, c.live_migration);
                }
                return false;
            }
            case Frame::vm: {
                ReportedVm& vm = report.vms.back();
                switch (key) {
                    case v_name:
                        return nonempty_string_value(v, vm.name);
                    case v_vcpus:
                        return unsigned_value(v, vm.vcpus);
                    case v_memory:
                        return unsigned_value(v, vm.memory_mib);
                    case v_template:
                        return string_value(v, vm.template_ref);
                    case v_state:
                        return string_value(v, vm.state);
                    case v_restart:
                        return boolean_value(v, vm.restart_pending);
                    case v_domain:
                        return string_value(v, vm.domain_type);
                }
                return false;
            }
            case Frame::vm_metrics: {
                VmMetrics& m = *report.vms.back().metrics;
                std::uint64_t state = 0;
                switch (key) {
                    case m_uuid:
                        return nonempty_string_value(v, m.uuid);
                    case m_state:
                        if (!unsigned_value(v, kMaxStateCode, state)) return false;
                        m.state_code = int(state);
                        return true;
                    case m_cpu_time:
                        return number_value(v, m.cpu_time_seconds) && m.cpu_time_seconds >= 0;
                    case m_weight_parameter:
                        return nonempty_string_value(v, m.cpu_weight_parameter);
                    case m_weight:
                        return unsigned_value(v, m.cpu_weight);
                    case m_memory_max:
                        return unsigned_value(v, m.memory_maximum_bytes);
                    case m_memory_used:
                        return unsigned_value(v, m.memory_used_bytes);
                    case m_vcpus_online:
                        return unsigned_value(v, m.vcpus_online);
                    case m_vcpus_max:
                        return unsigned_value(v, m.vcpus_maximum);
                }
                return false;
            }
            case Frame::disk: {
                VmDiskStats& d = report.vms.back().metrics->disks.back();
                switch (key) {
                    case 0:
                        return nonempty_string_value(v, d.device);
                    case 1:
                        return string_value(v, d.source);
                    case 2:
                        return counter_value(v, d.read_bytes);
                    case 3:
                        return counter_value(v, d.read_requests);
                    case 4:
                        return counter_value(v, d.write_bytes);
                    case 5:
                        return counter_value(v, d.write_requests);
                }
                return false;
            }
            case Frame::interface: {
                VmInterfaceStats& n = report.vms.back().metrics->interfaces.back();
                Counter* counters[] = {&n.receive_bytes,   &n.receive_packets, &n.receive_errors,
                                       &n.receive_drops,   &n.transmit_bytes,  &n.transmit_packets,
                                       &n.transmit_errors, &n.transmit_drops};
                if (key == 0) return nonempty_string_value(v, n.device);
                return counter_value(v, *counters[key - 1]);
            }
            case Frame::host_metrics: {
                HostMetrics& h = *report.metrics;
                switch (key) {
                    case h_memory_total:
                        return unsigned_value(v, h.memory_total_bytes);
                    case h_memory_available:
                        return unsigned_value(v, h.memory_available_bytes);
                    case h_load1:
                        return number_value(v, h.load1);
                    case h_load5:
                        return number_value(v, h.load5);
                    case h_load15:
                        return number_value(v, h.load15);
                    case h_boot:
                        return number_value(v, h.boot_time_seconds);
                    case h_uptime:
                        return number_value(v, h.uptime_seconds);
                }
                return false;
            }
            case Frame::cpu_seconds: {
                double seconds = 0;
                if (!number_value(v, seconds) || seconds < 0) return false;
                report.metrics->cpu_seconds[cpu_modes()[std::size_t(key)]] = seconds;
                return true;
            }
            case Frame::network_device: {
                NetworkDevice& d = report.metrics->network.back();
                switch (key) {
                    case 0:
                        return nonempty_string_value(v, d.device);
                    case 1:
                        return unsigned_value(v, d.receive_bytes);
                    case 2:
                        return unsigned_value(v, d.transmit_bytes);
                    case 3:
                        return unsigned_value(v, d.receive_errors);
                    case 4:
                        return unsigned_value(v, d.transmit_errors);
                }
                return false;
            }
            case Frame::filesystem: {
                HostMetrics& h = *report.metrics;
                switch (key) {
                    case 0:
                        return nonempty_string_value(v, h.mountpoint);
                    case 1:
                        return unsigned_value(v, h.filesystem_size_bytes);
                    case 2:
                        return unsigned_value(v, h.filesystem_free_bytes);
                    case 3:
                        return unsigned_value(v, h.filesystem_avail_bytes);
                }
                return false;
            }
            default:
                return false;
        }
    }

    // dom0.cc's rule for an entry of "templates".
    bool template_ref(const Value& v) {
        if (v.type != Value::Type::string) return false;
        const std::string& t = *v.s;
        const auto at = t.find('@');
        if (report.templates.size() >= Dom0Report::kMaxTemplates ||
            t.size() > Dom0Report::kMaxTemplateRef || at == 0 || at == std::string::npos ||
            at + 1 == t.size())
            return false;
        report.templates.push_back(std::move(*v.s));
        return true;
    }

    // --- a VM's network service, gathered into a DOM as nlohmann's own SAX DOM builder does
    static json scalar_json(const Value& v) {
        switch (v.type) {
            case Value::Type::boolean:
                return json(v.b);
            case Value::Type::integer:
                return json(v.i);
            case Value::Type::unsigned_integer:
                return json(v.u);
            case Value::Type::floating:
                return json(v.d);
            case Value::Type::string:
                return json(std::move(*v.s));
        }
        return json();
    }

    json* place(json value) {
        if (gathering_.empty()) {
            gathered_ = std::move(value);
            return &gathered_;
        }
        json& parent = *gathering_.back();
        if (parent.is_array()) {
            parent.push_back(std::move(value));
            return &parent.back();
        }
        json& slot = parent[gather_key_];  // a key given twice: the last one, as the DOM
        slot = std::move(value);
        return &slot;
    }

    bool gathered(json value) {
        place(std::move(value));
        return true;
    }

    bool gather_open(json container) {
        gathering_.push_back(place(std::move(container)));
        return true;
    }

    bool gather_close() {
        gathering_.pop_back();
        if (!gathering_.empty()) return true;
        stack_.pop_back();  // the service is whole: netservice.cc reads it
        detail::Reader r(Dom0Report::kName, gathered_);
        detail::read_netservice(r, report.vms.back().netservices.emplace_back());
        return r.ok();
    }

    const unsigned max_depth_;
    unsigned depth_ = 0;
    std::vector<Level> stack_;
    std::vector<json*> gathering_;
    std::string gather_key_;
    json gathered_;
};

}  // namespace

std::optional<Dom0Report> read_dom0_report(std::string_view text, const base::JsonLimits& limits) {
    if (text.size() > limits.max_bytes) return std::nullopt;
    ReportSax sax(limits.max_depth);
    if (!json::sax_parse(text, &sax, json::input_format_t::json, true)) return std::nullopt;
    return std::move(sax.report);
}

}  // namespace provisioner::wire
