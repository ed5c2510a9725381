// What a host needs to know to run one VM: the spec the agent receives from provisionerd,
// and the kind of hypervisor a libvirt URI names.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "provisioner/status.h"

namespace provisioner::vmhost {

// The domain type libvirt is asked for; it follows from the connection URI.
enum class DomainKind { xen, kvm, test };

const char* to_string(DomainKind kind);

// xen:///system (and xen+ssh://...) -> xen, qemu:///system (qemu+tcp://...) -> kvm,
// test:///default (or test:///path.xml) -> test; anything else is invalid_argument.
Result<DomainKind> domain_kind_for_uri(const std::string& uri);

struct DiskSpec {
    std::filesystem::path path;    // absolute: a qcow2 overlay or a full copy
    std::string format = "qcow2";  // qcow2 or raw
};

struct InterfaceSpec {
    std::string mac;                    // aa:bb:cc:dd:ee:ff
    std::string network;                // a libvirt network, or empty when bridge is set
    std::string bridge;                 // a host bridge, or empty when network is set
    std::optional<std::uint16_t> vlan;  // 802.1Q tag 1..4094
};

struct VmSpec {
    std::string name;  // [A-Za-z0-9._-], 1..64 characters, not starting with '.' or '-'
    std::string uuid;  // optional; libvirt assigns one when empty
    unsigned vcpus = 1;
    std::uint64_t memory_mib = 512;
    DiskSpec disk;
    std::vector<InterfaceSpec> interfaces;
    // SMBIOS type 11 OEM strings ("provisioner.server=…", one key each) the guest reads from
    // /sys/firmware/dmi/entries/11-*/raw: how the guest agent finds the server. Not rendered
    // for Xen, whose PV guests have no SMBIOS (the guest's image carries them instead).
    std::vector<std::string> oem_strings;
};

// Checks every field; invalid_argument names the VM and the first bad field.
Status validate(const VmSpec& spec);

}  // namespace provisioner::vmhost
