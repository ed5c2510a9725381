// The libvirt stats mapping (agent/vm_metrics.h): libvirt's units and its -1 ("not given") to
// the Dom0 report's, on values written by hand.
#include <doctest/doctest.h>

#include "provisioner/agent/vm_metrics.h"

using namespace provisioner;

namespace {

vmhost::DomainStats running_kvm_domain() {
    vmhost::DomainStats s;
    s.name = "web1";
    s.uuid = "6695eb01-f6a4-8304-79aa-97f2502e193f";
    s.state = 1;  // VIR_DOMAIN_RUNNING
    s.cpu_time_ns = 1'500'000'000'123;
    s.max_memory_kib = 4 * 1024 * 1024;
    s.memory_kib = 2 * 1024 * 1024;
    s.vcpus = 2;
    s.max_vcpus = 8;
    s.scheduler = {{"vcpu_period", 100000}, {"cpu_shares", 1024}, {"vcpu_quota", -1}};
    vmhost::BlockStats vda;
    vda.target = "vda";
    vda.source = "/var/disks/web1.qcow2";
    vda.rd_req = 10;
    vda.rd_bytes = 4096;
    vda.wr_req = 3;
    vda.wr_bytes = 1536;
    vmhost::BlockStats cdrom;  // a driver that gives nothing for it: every counter -1
    cdrom.target = "hdc";
    s.disks = {vda, cdrom};
    vmhost::InterfaceStats vnet;
    vnet.device = "vnet0";
    vnet.rx_bytes = 1000;
    vnet.rx_packets = 10;
    vnet.rx_errs = 1;
    vnet.rx_drop = 2;
    vnet.tx_bytes = 2000;
    vnet.tx_packets = 20;
    vnet.tx_errs = 0;
    vnet.tx_drop = -1;  // Xen's netback gives no transmit drops
    s.interfaces = {vnet};
    return s;
}

}  // namespace

TEST_CASE("vm metrics: libvirt's domain stats in the report's units") {
    const wire::VmMetrics m = agent::vm_metrics(running_kvm_domain());
    CHECK(m.uuid == "6695eb01-f6a4-8304-79aa-97f2502e193f");
    CHECK(m.state_code == 1);
    CHECK(m.cpu_time_seconds == doctest::Approx(1500.000000123));
    CHECK(m.cpu_weight_parameter == "cpu_shares");
    CHECK(m.cpu_weight == 1024);
    CHECK(m.memory_maximum_bytes == 4ull << 30);
    CHECK(m.memory_used_bytes == 2ull << 30);
    CHECK(m.vcpus_online == 2);
    CHECK(m.vcpus_maximum == 8);
    REQUIRE(m.disks.size() == 2);
    CHECK(m.disks[0] == wire::VmDiskStats{"vda", "/var/disks/web1.qcow2", 4096, 10, 1536, 3});
    CHECK(m.disks[1].device == "hdc");
    CHECK(m.disks[1].source.empty());
    CHECK_FALSE(m.disks[1].read_bytes);
    CHECK_FALSE(m.disks[1].write_requests);
    REQUIRE(m.interfaces.size() == 1);
    const wire::VmInterfaceStats& n = m.interfaces[0];
    CHECK(n.device == "vnet0");
    CHECK(n.receive_bytes == 1000u);
    CHECK(n.receive_packets == 10u);
    CHECK(n.receive_errors == 1u);
    CHECK(n.receive_drops == 2u);
    CHECK(n.transmit_bytes == 2000u);
    CHECK(n.transmit_packets == 20u);
    CHECK(n.transmit_errors == 0u);  // a real 0 stays 0 ...
    CHECK_FALSE(n.transmit_drops);   // ... and libvirt's -1 is absent
}

TEST_CASE("vm metrics: Xen's weight, no maximum, an unknown state, a shut-off domain") {
    vmhost::DomainStats s;
    s.name = "pv1";
    s.state = 42;  // beyond virDomainState's: no state
    s.vcpus = 4;
    s.max_vcpus = -1;
    s.scheduler = {{"cap", 0}, {"weight", 256}, {"cpu_shares", 1024}};
    wire::VmMetrics m = agent::vm_metrics(s);
    CHECK(m.state_code == 0);
    CHECK(m.vcpus_maximum == 4);  // none given: the online count
    CHECK(m.cpu_weight_parameter == "weight");  // Xen's own name first
    CHECK(m.cpu_weight == 256);
    CHECK(m.uuid.empty());
    CHECK(m.disks.empty());
    CHECK(m.interfaces.empty());

    s.state = 5;  // VIR_DOMAIN_SHUTOFF
    s.cpu_time_ns = 0;
    s.scheduler = {{"weight", -1}, {"vcpu_quota", 5}};  // a negative weight means nothing
    m = agent::vm_metrics(s);
    CHECK(m.state_code == 5);
    CHECK(m.cpu_time_seconds == 0);
    CHECK(m.cpu_weight_parameter.empty());
    CHECK(m.cpu_weight == 0);
}
