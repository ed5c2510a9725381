// libvirt domain XML from a VmSpec: a pure function, so the exact text is unit-tested.
#pragma once

#include <string>

#include "provisioner/status.h"
#include "provisioner/vmhost/vm_spec.h"

namespace provisioner::vmhost {

// The <domain> document for spec on a hypervisor of the given kind: one disk (virtio on
// kvm and test, xen's PV disk on xen), one <interface> per spec interface (type network or
// bridge, with <vlan><tag id=.../></vlan> when tagged), a serial console, destroy on
// poweroff/crash. invalid_argument if validate(spec) fails.
Result<std::string> render_domain_xml(const VmSpec& spec, DomainKind kind);

}  // namespace provisioner::vmhost
