// What a Dom0 agent reports and is answered: POST /api/v1/agent/vms (the report, answered
// with the host's actions and the hot templates) and POST /api/v1/agent/actions/{id} (an
// action's outcome). API.md, "Site and VMs"; the rules every message keeps are in codec.h.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "provisioner/wire/codec.h"

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
// "state"?, "restart_pending"?}; name required and not empty.
struct ReportedVm {
    std::string name;
    std::uint32_t vcpus = 0;
    std::uint64_t memory_mib = 0;
    std::string template_ref;      // "template"
    std::string state;             // libvirt's: "running", "shut off", ...
    bool restart_pending = false;  // written only when true
    bool operator==(const ReportedVm&) const = default;
};

// {"v", "mac"?, "capacity", "vms"?}.
struct Dom0Report {
    static constexpr const char* kName = "vms report";
    static constexpr int kVersion = 1;
    std::string mac;  // "" when absent; the server checks it names the token's host
    Capacity capacity;
    std::vector<ReportedVm> vms;
    bool operator==(const Dom0Report&) const = default;
};

// The answer to a report: {"v", "actions": [VmAction...], "templates"?: {...}}. Each action is
// kept as its JSON and decoded on its own (decode<VmAction>, vm_action.h), so that one the
// agent cannot read is answered failed by its id while the others still run. templates is the
// hot list (API.md "Hot templates"), read by the agent's template worker.
struct Dom0Answer {
    static constexpr const char* kName = "vms answer";
    static constexpr int kVersion = 1;
    std::vector<nlohmann::json> actions;
    nlohmann::json templates;  // an object, or null when absent
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

nlohmann::json encode(const Dom0Report& report);
nlohmann::json encode(const Dom0Answer& answer);
nlohmann::json encode(const ActionAnswer& answer);
template <>
Result<Dom0Report> decode<Dom0Report>(const nlohmann::json& message);
template <>
Result<Dom0Answer> decode<Dom0Answer>(const nlohmann::json& message);
template <>
Result<ActionAnswer> decode<ActionAnswer>(const nlohmann::json& message);

}  // namespace provisioner::wire
