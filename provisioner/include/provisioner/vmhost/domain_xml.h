// libvirt domain XML from a VmSpec: a pure function, so the exact text is unit-tested.
#pragma once

#include <string>

#include "provisioner/status.h"
#include "provisioner/vmhost/vm_spec.h"

namespace provisioner::vmhost {

// The <domain> document for spec as a domain of the given kind: type 'kvm', 'qemu' (TCG),
// 'xen' or 'test'; an HVM machine booting its disk, except xen-pv, booted by pygrub from the
// disk's GRUB configuration with a Xen console; one disk (virtio, xen's PV disk on Xen), one
// <interface> per spec interface (type network or bridge, with <vlan><tag id=.../></vlan> when
// tagged), the OEM strings as SMBIOS (not on Xen), destroy on poweroff/crash.
// invalid_argument if validate(spec) fails.
Result<std::string> render_domain_xml(const VmSpec& spec, DomainKind kind);

}  // namespace provisioner::vmhost
