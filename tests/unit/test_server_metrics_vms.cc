// The VM part of GET /metrics (metrics_vms.h) and the latest VM metrics it reads
// (latest_vm_metrics.h): prometheus-libvirt-exporter's names, with host, rack, domain and uuid
// labels, per disk and per interface; a VM without libvirt's metrics keeps what its report says.
#include <doctest/doctest.h>

#include "latest_vm_metrics.h"
#include "metrics_text.h"
#include "test_util.h"

using namespace provisioner;
using namespace provisioner::server;

namespace {

using testutil::has_line;

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++n;
    return n;
}

wire::VmMetrics web1_metrics() {
    wire::VmMetrics m;
    m.uuid = "6695eb01-f6a4-8304-79aa-97f2502e193f";
    m.state_code = 3;  // paused: the metrics' state wins over the report's text
    m.cpu_time_seconds = 1796.5;
    m.cpu_weight_parameter = "weight";
    m.cpu_weight = 256;
    m.memory_maximum_bytes = 2147483648;
    m.memory_used_bytes = 1073741824;
    m.vcpus_online = 2;
    m.vcpus_maximum = 4;
    m.disks = {{"vda", "/var/disks/web1.qcow2", 4096, 10, 1536, 3},
               {"hdc", "", std::nullopt, std::nullopt, std::nullopt, std::nullopt}};
    m.interfaces = {{"vnet0", 1000, 10, 1, 2, 2000, 20, 0, std::nullopt}};
    return m;
}

// A VM as the registry keeps a report's (the fields the series read).
ReportedVm vm_of(const std::string& name, std::uint32_t vcpus, std::uint64_t memory_mib,
                 const std::string& state) {
    ReportedVm vm;
    vm.name = name;
    vm.vcpus = vcpus;
    vm.memory_mib = memory_mib;
    vm.state = state;
    return vm;
}

wire::ReportedVm reported(const std::string& name, std::optional<wire::VmMetrics> m) {
    wire::ReportedVm vm;
    vm.name = name;
    vm.metrics = std::move(m);
    return vm;
}

}  // namespace

TEST_CASE("latest VM metrics: each report replaces its host's entry; sorted, found by name") {
    LatestVmMetrics latest;
    CHECK(latest.snapshot().empty());
    latest.update(7, 1000, {reported("b", web1_metrics()), reported("a", wire::VmMetrics{}),
                            reported("none", std::nullopt), reported("a", web1_metrics())});
    auto snap = latest.snapshot();
    REQUIRE(snap.count(7));
    const HostVmMetrics& entry = *snap.at(7);
    CHECK(entry.reported_at == 1000);
    REQUIRE(entry.vms.size() == 2);  // "none" carried no metrics; "a" kept once, the first
    CHECK(entry.vms[0].name == "a");
    CHECK(entry.vms[0].metrics == wire::VmMetrics{});
    CHECK(entry.vms[1].name == "b");
    REQUIRE(entry.find("b"));
    CHECK(entry.find("b")->cpu_time_seconds == 1796.5);
    CHECK_FALSE(entry.find("none"));
    CHECK_FALSE(entry.find("c"));

    latest.update(7, 2000, {reported("c", web1_metrics())});
    CHECK(snap.at(7)->vms.size() == 2);  // a snapshot keeps what it holds
    auto now = latest.snapshot();
    CHECK(now.at(7)->reported_at == 2000);
    CHECK_FALSE(now.at(7)->find("a"));
    CHECK(now.at(7)->find("c"));
    latest.forget(7);
    CHECK(latest.snapshot().empty());
}

TEST_CASE("metrics text: VMs' libvirt metrics under the exporter's names, per disk and interface") {
    MetricsSnapshot s;
    Host h;
    h.id = 1;
    h.name = "web-1";
    h.rack = "r1";
    h.state = HostState::ready;
    s.hosts = {h};
    HostReport r;
    r.host = 1;
    r.vms = {vm_of("web1", 2, 2048, "running"), vm_of("old", 1, 512, "shut off")};
    s.reports = {r};
    HostReport gone;  // a host removed from the inventory since it reported
    gone.host = 9;
    gone.vms = {vm_of("ghost", 1, 512, "running")};
    s.reports.push_back(gone);
    LatestVmMetrics latest;
    latest.update(1, 1000, {reported("web1", web1_metrics()), reported("old", std::nullopt)});
    latest.update(9, 1000, {reported("ghost", web1_metrics())});
    s.vm_metrics = latest.snapshot();
    s.vm_devices = true;

    const std::string text = metrics_text(s);
    const std::string web1 =
        "host=\"web-1\",rack=\"r1\",domain=\"web1\",uuid=\"6695eb01-f6a4-8304-79aa-97f2502e193f\"";
    const std::string old = "host=\"web-1\",rack=\"r1\",domain=\"old\"";
    CHECK(has_line(text, "# TYPE libvirt_domain_info_cpu_time_seconds_total counter"));
    CHECK(has_line(text, "libvirt_domain_info_cpu_time_seconds_total{" + web1 + "} 1796.5"));
    CHECK(has_line(text, "libvirt_domain_info_maximum_memory_bytes{" + web1 + "} 2147483648"));
    CHECK(has_line(text, "libvirt_domain_info_memory_usage_bytes{" + web1 + "} 1073741824"));
    CHECK(has_line(text, "libvirt_domain_info_virtual_cpus{" + web1 + "} 2"));
    CHECK(has_line(text, "libvirt_domain_vcpu_maximum{" + web1 + "} 4"));
    CHECK(has_line(text, "libvirt_domain_info_vstate{" + web1 + "} 3"));
    CHECK(has_line(text, "libvirt_domain_schedinfo_cpu_weight{" + web1 + ",parameter=\"weight\"} 256"));
    CHECK(has_line(text, "# TYPE libvirt_domain_block_stats_read_bytes_total counter"));
    CHECK(has_line(text, "libvirt_domain_block_stats_read_bytes_total{" + web1 +
                             ",target_device=\"vda\",source_file=\"/var/disks/web1.qcow2\"} 4096"));
    CHECK(has_line(text, "libvirt_domain_block_stats_read_requests_total{" + web1 +
                             ",target_device=\"vda\",source_file=\"/var/disks/web1.qcow2\"} 10"));
    CHECK(has_line(text, "libvirt_domain_block_stats_write_bytes_total{" + web1 +
                             ",target_device=\"vda\",source_file=\"/var/disks/web1.qcow2\"} 1536"));
    CHECK(has_line(text, "libvirt_domain_block_stats_write_requests_total{" + web1 +
                             ",target_device=\"vda\",source_file=\"/var/disks/web1.qcow2\"} 3"));
    CHECK(text.find("target_device=\"hdc\"") == std::string::npos);  // libvirt gave nothing
    CHECK(has_line(text, "libvirt_domain_interface_stats_receive_bytes_total{" + web1 +
                             ",target_device=\"vnet0\"} 1000"));
    CHECK(has_line(text, "libvirt_domain_interface_stats_receive_packets_total{" + web1 +
                             ",target_device=\"vnet0\"} 10"));
    CHECK(has_line(text, "libvirt_domain_interface_stats_receive_errors_total{" + web1 +
                             ",target_device=\"vnet0\"} 1"));
    CHECK(has_line(text, "libvirt_domain_interface_stats_receive_drops_total{" + web1 +
                             ",target_device=\"vnet0\"} 2"));
    CHECK(has_line(text, "libvirt_domain_interface_stats_transmit_bytes_total{" + web1 +
                             ",target_device=\"vnet0\"} 2000"));
    CHECK(has_line(text, "libvirt_domain_interface_stats_transmit_packets_total{" + web1 +
                             ",target_device=\"vnet0\"} 20"));
    CHECK(has_line(text, "libvirt_domain_interface_stats_transmit_errors_total{" + web1 +
                             ",target_device=\"vnet0\"} 0"));
    CHECK(text.find("libvirt_domain_interface_stats_transmit_drops_total") == std::string::npos);
    // Without libvirt's metrics: what the report says, and no CPU time.
    CHECK(has_line(text, "libvirt_domain_info_maximum_memory_bytes{" + old + "} 536870912"));
    CHECK(has_line(text, "libvirt_domain_info_virtual_cpus{" + old + "} 1"));
    CHECK(has_line(text, "libvirt_domain_info_vstate{" + old + "} 5"));
    CHECK(text.find("cpu_time_seconds_total{" + old) == std::string::npos);
    CHECK(text.find("memory_usage_bytes{" + old) == std::string::npos);
    CHECK(text.find("ghost") == std::string::npos);
    // Each family once, its samples together.
    CHECK(count(text, "# TYPE libvirt_domain_info_vstate ") == 1);
    CHECK(count(text, "# HELP libvirt_domain_block_stats_write_bytes_total ") == 1);
    const std::size_t type = text.find("# TYPE libvirt_domain_info_virtual_cpus gauge\n");
    REQUIRE(type != std::string::npos);
    const std::size_t after = type + std::string("# TYPE libvirt_domain_info_virtual_cpus gauge\n").size();
    CHECK(text.compare(after, 32, "libvirt_domain_info_virtual_cpus") == 0);
    CHECK(text.find("libvirt_domain_info_virtual_cpus{" + old) <
          text.find("# HELP", after));

    // By default (GET /metrics without vm_devices=1) no per-disk or per-interface family.
    s.vm_devices = false;
    const std::string lean = metrics_text(s);
    CHECK(has_line(lean, "libvirt_domain_info_cpu_time_seconds_total{" + web1 + "} 1796.5"));
    CHECK(lean.find("libvirt_domain_block_stats") == std::string::npos);
    CHECK(lean.find("libvirt_domain_interface_stats") == std::string::npos);
}
