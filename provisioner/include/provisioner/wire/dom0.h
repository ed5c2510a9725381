// What a Dom0 agent reports and is answered: POST /api/v1/agent/vms (the report, answered
// with the host's actions and the hot templates) and POST /api/v1/agent/actions/{id} (an
// action's outcome). API.md, "Site and VMs"; the rules every message keeps are in codec.h.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "provisioner/wire/codec.h"
#include "provisioner/wire/host_metrics.h"
#include "provisioner/wire/netservice.h"
#include "provisioner/wire/vm_metrics.h"

namespace provisioner::wire {

// {"vcpus", "memory_mib", "load"?, "reserved_vcpus"?, "reserved_memory_mib"?, "libvirt_uri"?,
// "live_migration"?}: vcpus and memory_mib required; load is the 1-minute load per CPU.
struct Capacity {
    std::uint32_t vcpus = 0;
    std::uint64_t memory_mib = 0;
    double load = 0;
    std::uint32_t reserved_vcpus = 0;
    std::uint64_t reserved_memory_mib = 0;
    std::string libvirt_uri;      // where a migration to this host goes
    bool live_migration = false;  // its hypervisor can take a live migration from a peer
    bool operator==(const Capacity&) const = default;
};

// A VM as the agent reports it (API.md "Vm"): {"name", "vcpus"?, "memory_mib"?, "template"?,
// "state"?, "restart_pending"?, "metrics"?}; name required and not empty.
struct ReportedVm {
    std::string name;
    std::uint32_t vcpus = 0;
    std::uint64_t memory_mib = 0;
    std::string template_ref;      // "template"
    std::string state;             // libvirt's: "running", "shut off", ...
    bool restart_pending = false;  // written only when true
    // "domain_type": how it runs, as libvirt has it: "kvm", "qemu" (TCG), "xen-pv",
    // "xen-hvm" or "test" (vmhost::to_string(DomainKind)); "" (absent) from older agents.
    std::string domain_type{};
    // What libvirt says of it (vm_metrics.h); absent from agents older than it, or when
    // libvirt could not be read for this VM.
    std::optional<VmMetrics> metrics;
    // "netservices": the network services the agent has installed for it now (netservice.h);
    // written only when not empty.
    std::vector<NetService> netservices{};
    bool operator==(const ReportedVm&) const = default;
};

// {"v", "mac"?, "capacity", "vms"?, "metrics"?, "templates"?}.
struct Dom0Report {
    static constexpr const char* kName = "vms report";
    static constexpr int kVersion = 1;
    // At most this many templates in one report, each "name@version" of at most this length.
    static constexpr std::size_t kMaxTemplates = 4096;
    static constexpr std::size_t kMaxTemplateRef = 257;
    std::string mac;  // "" when absent; the server checks it names the token's host
    Capacity capacity;
    std::vector<ReportedVm> vms;
    std::optional<HostMetrics> metrics;  // absent from agents older than it, or unreadable
    // "templates": the templates the host's store holds whole ("name@version"), pre-copied or
    // fetched for a VM; written only when not empty (absent from agents older than it).
    std::vector<std::string> templates;
    bool operator==(const Dom0Report&) const = default;
};

// The answer to a report: {"v", "actions": [VmAction...], "templates"?: {...},
// "interval_seconds"?}. Each action is
// kept as its JSON and decoded on its own (decode<VmAction>, vm_action.h), so that one the
// agent cannot read is answered failed by its id while the others still run. templates is the
// hot list (API.md "Hot templates"), read by the agent's template worker.
struct Dom0Answer {
    static constexpr const char* kName = "vms answer";
    static constexpr int kVersion = 1;
    std::vector<nlohmann::json> actions;
    nlohmann::json templates;  // an object, or null when absent
    // How often the server wants a report (its heartbeat interval; a host silent for three is
    // unreachable). 0: absent (an older server), the agent keeps its own interval.
    std::uint32_t interval_seconds = 0;
    // "netservices"?: [VmNetServices...]: every network service the site wants for the VMs of
    // this host (those the report named and those the site places here, running or not); a VM
    // not listed has none. Absent (an older server): the agent keeps what it has.
    std::optional<std::vector<VmNetServices>> netservices{};
    // "tunnel_key"?: the compression tunnel's key (README "Network services in Dom0"), 64
    // lowercase hex digits, the same for every Dom0 of the site; sent while some VM of the
    // answer has a compress service. "" when absent.
    std::string tunnel_key;
    bool operator==(const Dom0Answer&) const = default;
};

// POST /api/v1/agent/actions/{id}: {"v", "ok", "error"?}; error written when not empty.
struct ActionAnswer {
    static constexpr const char* kName = "action answer";
    static constexpr int kVersion = 1;
    bool ok = false;
    std::string error;
    bool operator==(const ActionAnswer&) const = default;
};

// POST /api/v1/agent/ready, the imaged system's first word: {"v", "mac"?, "capacity"}; capacity
// is the host's as its agent measures it ("cpus", "memory_bytes", "disk_free_bytes", and Xen's
// sizes where it runs), an object kept as it is in the host's facts.
struct Ready {
    static constexpr const char* kName = "ready";
    static constexpr int kVersion = 1;
    std::string mac;  // "" when absent
    nlohmann::json capacity;
    bool operator==(const Ready&) const = default;
};

nlohmann::json encode(const Ready& ready);
nlohmann::json encode(const Dom0Report& report);
nlohmann::json encode(const Dom0Answer& answer);
nlohmann::json encode(const ActionAnswer& answer);
template <>
Result<Ready> decode<Ready>(const nlohmann::json& message);
template <>
Result<Dom0Report> decode<Dom0Report>(const nlohmann::json& message);
template <>
Result<Dom0Answer> decode<Dom0Answer>(const nlohmann::json& message);
template <>
Result<ActionAnswer> decode<ActionAnswer>(const nlohmann::json& message);

// A Dom0 report read straight from its text, by nlohmann's SAX interface with no DOM in
// between (provisionerd's path for 10,000 hosts' reports): for a valid report, the report
// parse<Dom0Report>(text, limits) gives. std::nullopt for every text parse<Dom0Report>
// refuses, and for the few it reads that this reader leaves to it (a key given twice, a
// null): the caller then decodes a DOM, for the report or for the error naming the field.
// tests/fuzz/fuzz_wire checks the two agree.
std::optional<Dom0Report> read_dom0_report(std::string_view text,
                                           const base::JsonLimits& limits = {});

}  // namespace provisioner::wire
