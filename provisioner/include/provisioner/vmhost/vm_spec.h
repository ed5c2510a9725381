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

// The libvirt driver a URI names: the family of hypervisor on the other end.
enum class Driver { xen, qemu, test };

// xen:///system (and xen+ssh://...) -> xen, qemu:///system (qemu+tcp://...) -> qemu,
// test:///default (or test:///path.xml) -> test; anything else is invalid_argument.
Result<Driver> driver_for_uri(const std::string& uri);

// Whether a peer host can reach the hypervisor through this URI: true when it names a host
// (qemu+ssh://h2/system, xen+tcp://10.0.0.2/); false for a local one (qemu:///system, or a
// private daemon's socket), which on a peer would name the peer's own hypervisor. A live
// migration's destination is handed to the source host as the destination's URI, so only a
// host whose URI reaches it can take one.
bool uri_reaches_peers(const std::string& uri);

// The kind of domain libvirt is asked for; chosen per host when the connection is opened
// (open_libvirt in hypervisor.h): on qemu, KVM when /dev/kvm is usable and TCG (libvirt's
// type 'qemu') otherwise; on Xen, HVM when the hypervisor reports it can and PV otherwise.
enum class DomainKind { xen_pv, xen_hvm, kvm, qemu, test };

// "xen-pv", "xen-hvm", "kvm", "qemu" (TCG), "test": the words `vm list` shows.
const char* to_string(DomainKind kind);

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
    // /sys/firmware/dmi/entries/11-*/raw: how the guest agent finds the server. Xen guests
    // get no SMBIOS from libvirt: a PV guest gets them on its kernel command line (<cmdline>,
    // appended by pygrub), an HVM guest not at all (the guest's image carries them).
    std::vector<std::string> oem_strings;
};

// Checks every field; invalid_argument names the VM and the first bad field.
Status validate(const VmSpec& spec);

}  // namespace provisioner::vmhost
