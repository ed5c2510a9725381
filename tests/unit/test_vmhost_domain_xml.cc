// vmhost: VM specs, their validation, and the domain XML rendered from them (exact text).
#include <doctest/doctest.h>

#include "provisioner/vmhost/domain_xml.h"

using namespace provisioner;
using namespace provisioner::vmhost;

namespace {

VmSpec web1() {
    VmSpec spec;
    spec.name = "web1";
    spec.uuid = "6695eb01-f6a4-8304-79aa-97f2502e193f";
    spec.vcpus = 2;
    spec.memory_mib = 1024;
    spec.disk = {"/var/lib/provisioner/vms/web1.qcow2", "qcow2"};
    spec.interfaces = {{"52:54:00:12:34:56", "", "br0", 42},
                       {"52:54:00:12:34:57", "default", "", {}}};
    return spec;
}

}  // namespace

TEST_CASE("vmhost: domain XML for KVM, exact") {
    auto xml = render_domain_xml(web1(), DomainKind::kvm);
    REQUIRE_MESSAGE(xml.is_ok(), xml.status().message());
    CHECK(*xml ==
          "<domain type='kvm'>\n"
          "  <name>web1</name>\n"
          "  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>\n"
          "  <memory unit='MiB'>1024</memory>\n"
          "  <currentMemory unit='MiB'>1024</currentMemory>\n"
          "  <vcpu>2</vcpu>\n"
          "  <os>\n"
          "    <type arch='x86_64'>hvm</type>\n"
          "    <boot dev='hd'/>\n"
          "  </os>\n"
          "  <features>\n"
          "    <acpi/>\n"
          "    <apic/>\n"
          "  </features>\n"
          "  <on_poweroff>destroy</on_poweroff>\n"
          "  <on_reboot>restart</on_reboot>\n"
          "  <on_crash>destroy</on_crash>\n"
          "  <devices>\n"
          "    <disk type='file' device='disk'>\n"
          "      <driver name='qemu' type='qcow2'/>\n"
          "      <source file='/var/lib/provisioner/vms/web1.qcow2'/>\n"
          "      <target dev='vda' bus='virtio'/>\n"
          "    </disk>\n"
          "    <interface type='bridge'>\n"
          "      <mac address='52:54:00:12:34:56'/>\n"
          "      <source bridge='br0'/>\n"
          "      <vlan>\n"
          "        <tag id='42'/>\n"
          "      </vlan>\n"
          "      <model type='virtio'/>\n"
          "    </interface>\n"
          "    <interface type='network'>\n"
          "      <mac address='52:54:00:12:34:57'/>\n"
          "      <source network='default'/>\n"
          "      <model type='virtio'/>\n"
          "    </interface>\n"
          "    <serial type='pty'/>\n"
          "    <console type='pty'/>\n"
          "  </devices>\n"
          "</domain>\n");
}

TEST_CASE("vmhost: domain XML for Xen HVM and for the test driver") {
    VmSpec spec = web1();
    spec.uuid.clear();
    spec.interfaces.resize(1);
    spec.disk.format = "raw";
    auto xen = render_domain_xml(spec, DomainKind::xen_hvm);
    REQUIRE(xen.is_ok());
    CHECK(xen->rfind("<domain type='xen'>\n  <name>web1</name>\n  <memory unit='MiB'>", 0) == 0);
    CHECK(xen->find("<uuid>") == std::string::npos);
    CHECK(xen->find("      <driver name='qemu' type='raw'/>\n") != std::string::npos);
    CHECK(xen->find("      <target dev='xvda' bus='xen'/>\n") != std::string::npos);
    CHECK(xen->find("<model") == std::string::npos);
    CHECK(xen->find("    <type arch='x86_64'>hvm</type>\n    <boot dev='hd'/>\n") !=
          std::string::npos);
    auto test = render_domain_xml(spec, DomainKind::test);
    REQUIRE(test.is_ok());
    CHECK(test->rfind("<domain type='test'>\n", 0) == 0);
    CHECK(test->find("<target dev='vda' bus='virtio'/>") != std::string::npos);
}

TEST_CASE("vmhost: domain XML for TCG differs from KVM's only in its type") {
    auto kvm = render_domain_xml(web1(), DomainKind::kvm);
    auto tcg = render_domain_xml(web1(), DomainKind::qemu);
    REQUIRE(kvm.is_ok());
    REQUIRE(tcg.is_ok());
    CHECK(tcg->rfind("<domain type='qemu'>\n", 0) == 0);
    CHECK(tcg->substr(tcg->find('\n')) == kvm->substr(kvm->find('\n')));
}

TEST_CASE("vmhost: domain XML for Xen PV, exact") {
    VmSpec spec = web1();
    spec.interfaces = {{"00:16:3e:12:34:56", "", "xenbr0", {}}};
    spec.oem_strings = {"provisioner.guest=web1"};
    auto xml = render_domain_xml(spec, DomainKind::xen_pv);
    REQUIRE_MESSAGE(xml.is_ok(), xml.status().message());
    CHECK(*xml ==
          "<domain type='xen'>\n"
          "  <name>web1</name>\n"
          "  <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>\n"
          "  <memory unit='MiB'>1024</memory>\n"
          "  <currentMemory unit='MiB'>1024</currentMemory>\n"
          "  <vcpu>2</vcpu>\n"
          "  <bootloader>pygrub</bootloader>\n"
          "  <os>\n"
          "    <type arch='x86_64' machine='xenpv'>linux</type>\n"
          "    <cmdline>provisioner.guest=web1</cmdline>\n"
          "  </os>\n"
          "  <on_poweroff>destroy</on_poweroff>\n"
          "  <on_reboot>restart</on_reboot>\n"
          "  <on_crash>destroy</on_crash>\n"
          "  <devices>\n"
          "    <disk type='file' device='disk'>\n"
          "      <driver name='qemu' type='qcow2'/>\n"
          "      <source file='/var/lib/provisioner/vms/web1.qcow2'/>\n"
          "      <target dev='xvda' bus='xen'/>\n"
          "    </disk>\n"
          "    <interface type='bridge'>\n"
          "      <mac address='00:16:3e:12:34:56'/>\n"
          "      <source bridge='xenbr0'/>\n"
          "    </interface>\n"
          "    <console type='pty'>\n"
          "      <target type='xen' port='0'/>\n"
          "    </console>\n"
          "  </devices>\n"
          "</domain>\n");
}

TEST_CASE("vmhost: the driver follows the libvirt URI") {
    CHECK(*driver_for_uri("xen:///system") == Driver::xen);
    CHECK(*driver_for_uri("xen+ssh://root@host2/system") == Driver::xen);
    CHECK(*driver_for_uri("qemu:///system") == Driver::qemu);
    CHECK(*driver_for_uri("qemu+tcp://host2/system") == Driver::qemu);
    CHECK(*driver_for_uri("qemu:///system?socket=/run/x/libvirt-sock") == Driver::qemu);
    CHECK(*driver_for_uri("test:///default") == Driver::test);
    auto bad = driver_for_uri("lxc:///");
    CHECK(bad.status().code() == Code::invalid_argument);
    CHECK(bad.status().message().find("lxc:///") != std::string::npos);
}

TEST_CASE("vmhost: only a URI that names a host reaches the hypervisor from a peer") {
    CHECK(uri_reaches_peers("qemu+ssh://root@host2/system"));
    CHECK(uri_reaches_peers("xen+tcp://10.0.0.2/"));
    CHECK(uri_reaches_peers("qemu+tcp://host2"));
    CHECK_FALSE(uri_reaches_peers("qemu:///system"));
    CHECK_FALSE(uri_reaches_peers("xen:///system"));
    CHECK_FALSE(uri_reaches_peers("qemu:///system?socket=/run/x/libvirt-sock"));
    CHECK_FALSE(uri_reaches_peers("test:///default"));
    CHECK_FALSE(uri_reaches_peers("qemu:system"));
}

TEST_CASE("vmhost: bad VM specs are refused with the field named") {
    struct Case {
        const char* why;
        void (*edit)(VmSpec&);
        const char* expect;
    };
    const Case cases[] = {
        {"empty name", [](VmSpec& s) { s.name = ""; }, "bad name"},
        {"name with a quote", [](VmSpec& s) { s.name = "web'1"; }, "bad name"},
        {"name with a dash first", [](VmSpec& s) { s.name = "-web"; }, "bad name"},
        {"bad uuid", [](VmSpec& s) { s.uuid = "1234"; }, "bad uuid"},
        {"no vcpus", [](VmSpec& s) { s.vcpus = 0; }, "vcpus"},
        {"no memory", [](VmSpec& s) { s.memory_mib = 0; }, "memory"},
        {"relative disk", [](VmSpec& s) { s.disk.path = "web1.qcow2"; }, "absolute"},
        {"disk with <", [](VmSpec& s) { s.disk.path = "/a/<b>"; }, "absolute"},
        {"disk format", [](VmSpec& s) { s.disk.format = "vmdk"; }, "vmdk"},
        {"bad MAC", [](VmSpec& s) { s.interfaces[0].mac = "52:54:00:12:34"; }, "bad MAC"},
        {"network and bridge", [](VmSpec& s) { s.interfaces[0].network = "default"; },
         "exactly one"},
        {"neither", [](VmSpec& s) { s.interfaces[0].bridge = ""; }, "exactly one"},
        {"VLAN 0", [](VmSpec& s) { s.interfaces[0].vlan = 0; }, "VLAN"},
        {"VLAN 4095", [](VmSpec& s) { s.interfaces[0].vlan = 4095; }, "VLAN"},
        {"bridge with &", [](VmSpec& s) { s.interfaces[0].bridge = "br&0"; }, "bridge name"},
    };
    CHECK(validate(web1()).is_ok());
    for (const auto& c : cases) {
        VmSpec spec = web1();
        c.edit(spec);
        auto xml = render_domain_xml(spec, DomainKind::kvm);
        CHECK_MESSAGE(!xml.is_ok(), c.why);
        CHECK(xml.status().code() == Code::invalid_argument);
        CHECK_MESSAGE(xml.status().message().find(c.expect) != std::string::npos,
                      c.why << ": " << xml.status().message());
    }
}

TEST_CASE("vmhost: the guest agent's settings go in as SMBIOS OEM strings, except on Xen") {
    VmSpec spec = web1();
    spec.oem_strings = {"provisioner.server=http://10.77.0.1:8080", "provisioner.guest=web1",
                        "provisioner.token=g_00ff"};
    auto kvm = render_domain_xml(spec, DomainKind::kvm);
    REQUIRE(kvm.is_ok());
    CHECK(kvm->find("  <sysinfo type='smbios'>\n    <oemStrings>\n"
                    "      <entry>provisioner.server=http://10.77.0.1:8080</entry>\n"
                    "      <entry>provisioner.guest=web1</entry>\n"
                    "      <entry>provisioner.token=g_00ff</entry>\n"
                    "    </oemStrings>\n  </sysinfo>\n") != std::string::npos);
    CHECK(kvm->find("    <boot dev='hd'/>\n    <smbios mode='sysinfo'/>\n  </os>\n") !=
          std::string::npos);
    auto xen = render_domain_xml(spec, DomainKind::xen_hvm);
    REQUIRE(xen.is_ok());
    CHECK(xen->find("sysinfo") == std::string::npos);
    CHECK(xen->find("smbios") == std::string::npos);
    spec.oem_strings = {"a<b"};
    CHECK(render_domain_xml(spec, DomainKind::kvm).status().code() == Code::invalid_argument);
    spec.oem_strings = {""};
    CHECK_FALSE(validate(spec).is_ok());
}
