#include "provisioner/vmhost/domain_xml.h"

#include <sstream>

namespace provisioner::vmhost {

namespace {

// validate() has refused every character that would need escaping, so values go in as they
// are; the attribute quote is ' as libvirt itself writes it.
void render_disk(std::ostringstream& x, const DiskSpec& disk, DomainKind kind) {
    const bool xen = kind == DomainKind::xen;
    x << "    <disk type='file' device='disk'>\n"
      << "      <driver name='qemu' type='" << disk.format << "'/>\n"
      << "      <source file='" << disk.path.string() << "'/>\n"
      << "      <target dev='" << (xen ? "xvda" : "vda") << "' bus='" << (xen ? "xen" : "virtio")
      << "'/>\n"
      << "    </disk>\n";
}

void render_interface(std::ostringstream& x, const InterfaceSpec& nic, DomainKind kind) {
    const bool bridge = !nic.bridge.empty();
    x << "    <interface type='" << (bridge ? "bridge" : "network") << "'>\n"
      << "      <mac address='" << nic.mac << "'/>\n"
      << "      <source " << (bridge ? "bridge='" + nic.bridge : "network='" + nic.network)
      << "'/>\n";
    if (nic.vlan) x << "      <vlan>\n        <tag id='" << *nic.vlan << "'/>\n      </vlan>\n";
    // Xen's HVM guests get its PV network device from the guest's own drivers.
    if (kind != DomainKind::xen) x << "      <model type='virtio'/>\n";
    x << "    </interface>\n";
}

}  // namespace

Result<std::string> render_domain_xml(const VmSpec& spec, DomainKind kind) {
    if (Status s = validate(spec); !s) return s;
    std::ostringstream x;
    x << "<domain type='" << to_string(kind) << "'>\n"
      << "  <name>" << spec.name << "</name>\n";
    if (!spec.uuid.empty()) x << "  <uuid>" << spec.uuid << "</uuid>\n";
    const bool smbios = !spec.oem_strings.empty() && kind != DomainKind::xen;
    if (smbios) {
        x << "  <sysinfo type='smbios'>\n    <oemStrings>\n";
        for (const auto& text : spec.oem_strings) x << "      <entry>" << text << "</entry>\n";
        x << "    </oemStrings>\n  </sysinfo>\n";
    }
    x << "  <memory unit='MiB'>" << spec.memory_mib << "</memory>\n"
      << "  <currentMemory unit='MiB'>" << spec.memory_mib << "</currentMemory>\n"
      << "  <vcpu>" << spec.vcpus << "</vcpu>\n"
      << "  <os>\n"
      << "    <type arch='x86_64'>hvm</type>\n"
      << "    <boot dev='hd'/>\n";
    if (smbios) x << "    <smbios mode='sysinfo'/>\n";
    x << "  </os>\n"
      << "  <features>\n    <acpi/>\n    <apic/>\n  </features>\n"
      << "  <on_poweroff>destroy</on_poweroff>\n"
      << "  <on_reboot>restart</on_reboot>\n"
      << "  <on_crash>destroy</on_crash>\n"
      << "  <devices>\n";
    render_disk(x, spec.disk, kind);
    for (const auto& nic : spec.interfaces) render_interface(x, nic, kind);
    x << "    <serial type='pty'/>\n"
      << "    <console type='pty'/>\n"
      << "  </devices>\n"
      << "</domain>\n";
    return x.str();
}

}  // namespace provisioner::vmhost
