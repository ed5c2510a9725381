// A VM action: what provisionerd hands a Dom0 agent to carry out (API.md, "Site and VMs"),
// in the answer to POST /api/v1/agent/vms and of POST /api/v1/vms/recall. The rules every
// message keeps are in codec.h.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "provisioner/wire/codec.h"

namespace provisioner::wire {

// {"mac", "network"?, "bridge"?, "vlan"?}: vlan 0 (or null) is untagged, at most 4094.
struct VmInterface {
    std::string mac;
    std::string network;
    std::string bridge;
    std::uint16_t vlan = 0;
    bool operator==(const VmInterface&) const = default;
};

// {"v", "id", "kind", "vm": {"name", "vcpus"?, "memory_mib"?, "template"?, "interfaces"?,
// "guest"?}, "to_uri"?, "transfer"?}. Beyond the types: create and move_receive need
// vm.template, vm.vcpus and vm.memory_mib (not 0); migrate needs to_uri; the move_* parts a
// transfer. vcpus and memory_mib of 0 (or null) mean "unchanged" to reconfigure.
struct VmAction {
    static constexpr const char* kName = "vm action";
    static constexpr int kVersion = 1;
    // move_*: the parts of a cold move (API.md, "Moving a VM").
    enum class Kind {
        create,
        remove,
        reconfigure,
        migrate,
        move_send,
        move_receive,
        move_finish,
        move_abort
    };
    struct Vm {
        std::string name;
        std::uint32_t vcpus = 0;
        std::uint64_t memory_mib = 0;
        std::string template_ref;  // "template": the reference the VM is (or was) made from
        std::vector<VmInterface> interfaces;
        // A VM being defined: its guest agent's settings, "provisioner.server=URL
        // provisioner.guest=NAME provisioner.token=T" ("" for the other kinds).
        std::string guest;
        bool operator==(const Vm&) const = default;
    };
    std::int64_t id = 0;
    Kind kind = Kind::create;
    Vm vm;
    std::string to_uri;    // migrate: the destination's libvirt URI
    std::string transfer;  // move_*: the server's id of the VM's disk in transit
    bool operator==(const VmAction&) const = default;
};

const char* to_string(VmAction::Kind kind);
bool is_move_part(VmAction::Kind kind);

nlohmann::json encode(const VmAction& action);
template <>
Result<VmAction> decode<VmAction>(const nlohmann::json& message);

}  // namespace provisioner::wire
