// Which kind of domain a host starts (vm_spec.h DomainKind), chosen once per connection from
// the URI's driver, what the hypervisor reports (libvirt's capabilities XML) and whether KVM
// really runs guests here. Pure but for probe_kvm, so the choice is unit-tested.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "provisioner/status.h"
#include "provisioner/vmhost/vm_spec.h"

namespace provisioner::vmhost {

// The operator's say on qemu hosts: auto (probe), or KVM or TCG whatever the probe says.
enum class Accel { auto_detect, kvm, tcg };

// "auto", "kvm", "tcg"; invalid_argument otherwise.
Result<Accel> parse_accel(const std::string& text);

struct KvmProbe {
    bool usable = false;
    std::string why;  // what was found, for the agent's log and the choice's reason
};

// Whether KVM can run guests on this machine: the CPU advertises hardware virtualisation (vmx
// or svm among ROOT/proc/cpuinfo's flags) and ROOT/dev/kvm creates a VM whose vCPU runs a
// few real-mode instructions to HLT, in a child process given 2 s. Both, because a nested
// hypervisor may offer /dev/kvm, and run that much, while hiding vmx/svm from the CPU it
// shows, and Debian's kernel hangs early in its guests there. Never throws; root is "/"
// outside tests.
KvmProbe probe_kvm(const std::filesystem::path& root);

// Whether libvirt's capabilities XML offers a guest of that os_type ("hvm", "xen",
// "xenpvh") or of that domain type ("kvm", "qemu", "xen") on some architecture.
bool offers_os_type(const std::string& capabilities_xml, const std::string& os_type);
bool offers_domain_type(const std::string& capabilities_xml, const std::string& domain_type);

struct KindChoice {
    DomainKind kind = DomainKind::test;
    std::string why;  // e.g. "TCG: /dev/kvm is not usable (...)"
};

// qemu: kvm when accel says kvm, qemu (TCG) when it says tcg; with auto, kvm only when the
// capabilities offer domain type kvm and probe() says usable. xen: HVM when the capabilities
// offer os_type hvm, else PV (accel does not apply). test: test. probe is called only when
// needed.
KindChoice choose_domain_kind(Driver driver, Accel accel, const std::string& capabilities_xml,
                              const std::function<KvmProbe()>& probe);

}  // namespace provisioner::vmhost
