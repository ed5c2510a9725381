#include "provisioner/vmhost/vm_spec.h"

#include <cctype>

#include "base/mac.h"

namespace provisioner::vmhost {

namespace {

bool starts_with(const std::string& s, const char* prefix) {
    return s.rfind(prefix, 0) == 0;
}

bool valid_vm_name(const std::string& s) {
    if (s.empty() || s.size() > 64 || s[0] == '.' || s[0] == '-') return false;
    for (unsigned char c : s)
        if (!std::isalnum(c) && c != '.' && c != '_' && c != '-') return false;
    return true;
}

// A NIC's address (base::Mac: no multicast, no all-zero), spelt as libvirt's XML has it:
// colons, no blanks.
bool valid_mac(const std::string& s) {
    return s.size() == 17 && s[2] == ':' && base::Mac::parse(s).is_ok();
}

bool valid_uuid(const std::string& s) {
    if (s.size() != 36) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash != (s[i] == '-')) return false;
        if (!dash && !std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
    }
    return true;
}

// Characters that would need escaping in XML or that libvirt rejects in a name of a file,
// network or bridge; none of them belongs in one.
bool plain(const std::string& s) {
    for (unsigned char c : s)
        if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == '\'' || c == '"') return false;
    return true;
}

}  // namespace

const char* to_string(DomainKind kind) {
    switch (kind) {
        case DomainKind::xen_pv:
            return "xen-pv";
        case DomainKind::xen_hvm:
            return "xen-hvm";
        case DomainKind::kvm:
            return "kvm";
        case DomainKind::qemu:
            return "qemu";
        case DomainKind::test:
            return "test";
    }
    return "unknown";
}

Result<Driver> driver_for_uri(const std::string& uri) {
    if (starts_with(uri, "xen:") || starts_with(uri, "xen+")) return Driver::xen;
    if (starts_with(uri, "qemu:") || starts_with(uri, "qemu+")) return Driver::qemu;
    if (starts_with(uri, "test:") || starts_with(uri, "test+")) return Driver::test;
    return Status::error(Code::invalid_argument,
                         "libvirt URI '" + uri + "': expected xen://, qemu:// or test://");
}

bool uri_reaches_peers(const std::string& uri) {
    const auto scheme_end = uri.find("://");
    if (scheme_end == std::string::npos) return false;
    const auto authority = scheme_end + 3;
    const auto end = uri.find_first_of("/?", authority);
    return (end == std::string::npos ? uri.size() : end) > authority;
}

Status validate(const VmSpec& spec) {
    auto bad = [&](const std::string& what) {
        return Status::error(Code::invalid_argument, "VM '" + spec.name + "': " + what);
    };
    if (!valid_vm_name(spec.name))
        return bad("bad name (1-64 of A-Z a-z 0-9 . _ -, not starting with . or -)");
    if (!spec.uuid.empty() && !valid_uuid(spec.uuid)) return bad("bad uuid '" + spec.uuid + "'");
    if (spec.vcpus == 0 || spec.vcpus > 4096) return bad("vcpus must be 1..4096");
    if (spec.memory_mib == 0 || spec.memory_mib > (std::uint64_t(1) << 30))
        return bad("memory must be 1 MiB .. 1 PiB");
    if (spec.disk.path.empty() || !spec.disk.path.is_absolute() || !plain(spec.disk.path.string()))
        return bad("disk path must be absolute, without quotes or < > &");
    if (spec.disk.format != "qcow2" && spec.disk.format != "raw")
        return bad("disk format '" + spec.disk.format + "' (qcow2 or raw)");
    for (const auto& nic : spec.interfaces) {
        if (!valid_mac(nic.mac)) return bad("bad MAC '" + nic.mac + "'");
        if (nic.network.empty() == nic.bridge.empty())
            return bad("interface " + nic.mac + ": exactly one of network and bridge");
        if (!plain(nic.network) || !plain(nic.bridge))
            return bad("interface " + nic.mac + ": bad network or bridge name");
        if (nic.vlan && (*nic.vlan == 0 || *nic.vlan > 4094))
            return bad("interface " + nic.mac + ": VLAN tag must be 1..4094");
    }
    for (const auto& text : spec.oem_strings)
        if (text.empty() || text.size() > 1024 || !plain(text))
            return bad("an OEM string must be 1..1024 characters, without quotes or < > &");
    return Status::ok();
}

}  // namespace provisioner::vmhost
