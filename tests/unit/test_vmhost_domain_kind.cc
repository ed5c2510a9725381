// vmhost: the kind of domain a host starts (KVM or TCG, Xen PV or HVM), the KVM probe on a
// fake /proc and /dev, and every kind's XML validated by libvirt's own schema.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>

#include "provisioner/vmhost/domain_kind.h"
#include "provisioner/vmhost/domain_xml.h"
#include "test_util.h"

using namespace provisioner;
using namespace provisioner::vmhost;

namespace {

// Trimmed from what libvirt 9.0's qemu and libxl drivers answer.
const char* kQemuCapsWithKvm = R"(<capabilities><host/>
  <guest><os_type>hvm</os_type><arch name='x86_64'><domain type='qemu'/><domain type='kvm'/></arch></guest>
</capabilities>)";
const char* kQemuCapsTcgOnly = R"(<capabilities><host/>
  <guest><os_type>hvm</os_type><arch name='x86_64'><domain type='qemu'/></arch></guest>
</capabilities>)";
const char* kXenCapsHvm = R"(<capabilities><host/>
  <guest><os_type>xen</os_type><arch name='x86_64'><domain type='xen'/></arch></guest>
  <guest><os_type>hvm</os_type><arch name='x86_64'><domain type='xen'/></arch></guest>
</capabilities>)";
const char* kXenCapsPvOnly = R"(<capabilities><host/>
  <guest><os_type>xen</os_type><arch name='x86_64'><domain type='xen'/></arch></guest>
  <guest><os_type>xenpvh</os_type><arch name='x86_64'><domain type='xen'/></arch></guest>
</capabilities>)";

KvmProbe usable() { return {true, "/dev/kvm ran a test vCPU to HLT"}; }
KvmProbe unusable() { return {false, "the CPU shows no vmx or svm flag"}; }

void write_text(const std::filesystem::path& path, const std::string& text) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
}

VmSpec guest() {
    VmSpec spec;
    spec.name = "web1";
    spec.vcpus = 1;
    spec.memory_mib = 256;
    spec.disk = {"/var/lib/provisioner/disks/web1.qcow2", "qcow2"};
    spec.interfaces = {{"52:54:00:12:34:56", "", "br0", {}},
                       {"52:54:00:12:34:57", "front", "", 10}};
    spec.oem_strings = {"provisioner.server=https://10.77.0.1:8080", "provisioner.guest=web1"};
    return spec;
}

}  // namespace

TEST_CASE("domain kind: qemu hosts get KVM only when libvirt offers it and the probe passes") {
    int probes = 0;
    auto counted = [&](KvmProbe (*p)()) {
        return [&probes, p] {
            ++probes;
            return p();
        };
    };
    auto k = choose_domain_kind(Driver::qemu, Accel::auto_detect, kQemuCapsWithKvm,
                                counted(usable));
    CHECK(k.kind == DomainKind::kvm);
    CHECK(k.why == "KVM: /dev/kvm ran a test vCPU to HLT");
    k = choose_domain_kind(Driver::qemu, Accel::auto_detect, kQemuCapsWithKvm, counted(unusable));
    CHECK(k.kind == DomainKind::qemu);
    CHECK(k.why == "TCG: KVM is not usable: the CPU shows no vmx or svm flag");
    CHECK(probes == 2);
    k = choose_domain_kind(Driver::qemu, Accel::auto_detect, kQemuCapsTcgOnly, counted(usable));
    CHECK(k.kind == DomainKind::qemu);
    CHECK(k.why == "TCG: libvirt offers no kvm domains");
    CHECK(probes == 2);  // not asked: libvirt could not start a kvm domain anyway
    // The operator's override wins, without a probe.
    k = choose_domain_kind(Driver::qemu, Accel::kvm, kQemuCapsTcgOnly, counted(unusable));
    CHECK(k.kind == DomainKind::kvm);
    k = choose_domain_kind(Driver::qemu, Accel::tcg, kQemuCapsWithKvm, counted(usable));
    CHECK(k.kind == DomainKind::qemu);
    CHECK(k.why == "TCG: chosen by the operator");
    CHECK(probes == 2);
}

TEST_CASE("domain kind: Xen hosts get HVM when the hypervisor offers it, else PV") {
    auto never = []() -> KvmProbe { FAIL("probed KVM on Xen"); return {}; };
    CHECK(choose_domain_kind(Driver::xen, Accel::auto_detect, kXenCapsHvm, never).kind ==
          DomainKind::xen_hvm);
    auto pv = choose_domain_kind(Driver::xen, Accel::kvm, kXenCapsPvOnly, never);
    CHECK(pv.kind == DomainKind::xen_pv);
    CHECK(pv.why == "PV: the hypervisor offers no hvm guests");
    CHECK(choose_domain_kind(Driver::xen, Accel::auto_detect, "not xml", never).kind ==
          DomainKind::xen_pv);
    CHECK(choose_domain_kind(Driver::test, Accel::auto_detect, "", never).kind ==
          DomainKind::test);
    CHECK(offers_os_type(kXenCapsPvOnly, "xenpvh"));
    CHECK_FALSE(offers_domain_type(kXenCapsPvOnly, "kvm"));
}

TEST_CASE("domain kind: --accel words") {
    CHECK(*parse_accel("auto") == Accel::auto_detect);
    CHECK(*parse_accel("kvm") == Accel::kvm);
    CHECK(*parse_accel("tcg") == Accel::tcg);
    auto bad = parse_accel("hvf");
    CHECK(bad.status().code() == Code::invalid_argument);
    CHECK(bad.status().message() == "accelerator 'hvf': expected auto, kvm or tcg");
}

TEST_CASE("domain kind: the KVM probe trusts no /dev/kvm without vmx or svm") {
    testutil::TempDir root;
    write_text(root / "proc/cpuinfo",
               "processor\t: 0\nflags\t\t: fpu vme de pse tsc msr pae hypervisor\n");
    write_text(root / "dev/kvm", "");  // there, but the CPU shows no virtualisation
    auto p = probe_kvm(root.path());
    CHECK_FALSE(p.usable);
    CHECK(p.why.find("no vmx or svm") != std::string::npos);

    write_text(root / "proc/cpuinfo", "processor\t: 0\nflags\t\t: fpu vme vmx ept\n");
    std::filesystem::remove(root / "dev/kvm");
    p = probe_kvm(root.path());
    CHECK_FALSE(p.usable);
    CHECK(p.why == (root / "dev/kvm").string() + " does not exist");

    write_text(root / "dev/kvm", "");  // a plain file: no KVM API behind it
    p = probe_kvm(root.path());
    CHECK_FALSE(p.usable);
    CHECK(p.why == (root / "dev/kvm").string() + ": unexpected KVM API version");
}

TEST_CASE("domain kind: every kind's XML passes libvirt's schema (virt-xml-validate)") {
    // libvirt-clients has it (scripts/setup installs it): a missing tool fails, never skips.
    REQUIRE_MESSAGE(std::system("command -v virt-xml-validate >/dev/null 2>&1") == 0,
                    "virt-xml-validate not found (apt-get install libvirt-clients)");
    testutil::TempDir dir;
    for (DomainKind kind : {DomainKind::kvm, DomainKind::qemu, DomainKind::xen_pv,
                            DomainKind::xen_hvm, DomainKind::test}) {
        CAPTURE(to_string(kind));
        auto xml = render_domain_xml(guest(), kind);
        REQUIRE(xml.is_ok());
        const auto file = dir / (std::string(to_string(kind)) + ".xml");
        std::ofstream(file) << *xml;
        const std::string command =
            "virt-xml-validate '" + file.string() + "' domain >'" + file.string() + ".out' 2>&1";
        const int rc = std::system(command.c_str());
        std::ifstream out(file.string() + ".out");
        std::string said((std::istreambuf_iterator<char>(out)), {});
        CHECK_MESSAGE(rc == 0, said << "\n" << *xml);
    }
}
