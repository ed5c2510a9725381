#include "provisioner/vmhost/domain_xml.h"

#include <sstream>

namespace provisioner::vmhost {

namespace {

// validate() has refused every character that would need escaping, so values go in as they
// are; the attribute quote is ' as libvirt itself writes it.
bool is_xen(DomainKind kind) {
    return kind == DomainKind::xen_pv || kind == DomainKind::xen_hvm;
}

// The type attribute of <domain>: libvirt's name of the hypervisor, TCG being 'qemu'.
const char* domain_type(DomainKind kind) {
    switch (kind) {
        case DomainKind::xen_pv:
        case DomainKind::xen_hvm:
            return "xen";
        case DomainKind::kvm:
            return "kvm";
        case DomainKind::qemu:
            return "qemu";
        case DomainKind::test:
            return "test";
    }
    return "test";
}

void render_disk(std::ostringstream& x, const DiskSpec& disk, DomainKind kind) {
    const bool xen = is_xen(kind);
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
    // Xen's guests get its PV network device from the guest's own drivers.
    if (!is_xen(kind)) x << "      <model type='virtio'/>\n";
    x << "    </interface>\n";
}

}  // namespace

Result<std::string> render_domain_xml(const VmSpec& spec, DomainKind kind) {
    if (Status s = validate(spec); !s) return s;
    std::ostringstream x;
    x << "<domain type='" << domain_type(kind) << "'>\n"
      << "  <name>" << spec.name << "</name>\n";
    if (!spec.uuid.empty()) x << "  <uuid>" << spec.uuid << "</uuid>\n";
    const bool smbios = !spec.oem_strings.empty() && !is_xen(kind);
    if (smbios) {
        x << "  <sysinfo type='smbios'>\n    <oemStrings>\n";
        for (const auto& text : spec.oem_strings) x << "      <entry>" << text << "</entry>\n";
        x << "    </oemStrings>\n  </sysinfo>\n";
    }
    x << "  <memory unit='MiB'>" << spec.memory_mib << "</memory>\n"
      << "  <currentMemory unit='MiB'>" << spec.memory_mib << "</currentMemory>\n"
      << "  <vcpu>" << spec.vcpus << "</vcpu>\n";
    const bool pv = kind == DomainKind::xen_pv;
    if (pv) {
        // A PV guest has no firmware: libxl's pygrub reads the kernel, initrd and command
        // line from the disk's GRUB configuration, as a BIOS guest's GRUB would. It has no
        // SMBIOS either: the OEM strings (provisioner.server=... words) go in <cmdline>,
        // which libxl hands to pygrub (--args) to append, and the guest agent reads
        // /proc/cmdline.
        x << "  <bootloader>pygrub</bootloader>\n"
          << "  <os>\n"
          << "    <type arch='x86_64' machine='xenpv'>linux</type>\n";
        if (!spec.oem_strings.empty()) {
            x << "    <cmdline>";
            for (std::size_t i = 0; i < spec.oem_strings.size(); ++i)
                x << (i ? " " : "") << spec.oem_strings[i];
            x << "</cmdline>\n";
        }
        x << "  </os>\n";
    } else {
        x << "  <os>\n"
          << "    <type arch='x86_64'>hvm</type>\n"
          << "    <boot dev='hd'/>\n";
        if (smbios) x << "    <smbios mode='sysinfo'/>\n";
        x << "  </os>\n"
          << "  <features>\n    <acpi/>\n    <apic/>\n  </features>\n";
    }
    x << "  <on_poweroff>destroy</on_poweroff>\n"
      << "  <on_reboot>restart</on_reboot>\n"
      << "  <on_crash>destroy</on_crash>\n"
      << "  <devices>\n";
    render_disk(x, spec.disk, kind);
    for (const auto& nic : spec.interfaces) render_interface(x, nic, kind);
    if (pv)
        x << "    <console type='pty'>\n      <target type='xen' port='0'/>\n    </console>\n";
    else
        x << "    <serial type='pty'/>\n"
          << "    <console type='pty'/>\n";
    x << "  </devices>\n"
      << "</domain>\n";
    return x.str();
}

}  // namespace provisioner::vmhost
