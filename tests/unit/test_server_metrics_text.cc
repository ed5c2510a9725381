// GET /metrics' text: every host state at zero from the start, host metrics under
// node_exporter's names with host and rack labels, VMs under libvirt exporter's, escaping.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>

#include "metrics_text.h"
#include "test_util.h"

using namespace provisioner;
using namespace provisioner::server;

namespace {

Host host(HostId id, const char* name, const char* rack, HostState state) {
    Host h;
    h.id = id;
    h.name = name;
    h.rack = rack;
    h.state = state;
    return h;
}

using testutil::has_line;

}  // namespace

TEST_CASE("metrics text: an empty inventory has every host state at 0 and no host series") {
    MetricsSnapshot s;
    s.version = "1.2.3";
    const std::string text = metrics_text(s);
    CHECK(text.rfind("# HELP provisioner_build_info ", 0) == 0);
    CHECK(has_line(text, "# TYPE provisioner_build_info gauge"));
    CHECK(has_line(text, "provisioner_build_info{version=\"1.2.3\"} 1"));
    CHECK(has_line(text, "# TYPE provisioner_hosts gauge"));
    for (const char* state : {"discovered", "enrolled", "booting", "imaging", "imaged", "ready",
                              "unreachable", "failed", "retired"})
        CHECK_MESSAGE(has_line(text, std::string("provisioner_hosts{state=\"") + state + "\"} 0"),
                      state);
    CHECK(text.find("node_") == std::string::npos);
    CHECK(text.find("libvirt_") == std::string::npos);
    CHECK(text.back() == '\n');
}

TEST_CASE("metrics text: hosts by state, each host's metrics and VMs with host and rack labels") {
    MetricsSnapshot s;
    s.version = "dev";
    s.hosts = {host(1, "web-1", "r1", HostState::ready), host(2, "web-2", "r2", HostState::ready),
               host(3, "db-1", "r1", HostState::unreachable),
               host(4, "new", "", HostState::discovered)};
    wire::HostMetrics m;
    m.cpu_seconds = {{"user", 12.5}, {"idle", 3000}};
    m.memory_total_bytes = 8589934592;
    m.memory_available_bytes = 4294967296;
    m.load1 = 0.25;
    m.boot_time_seconds = 1764806400;
    m.network = {{"eth0", 1000, 2000, 3, 4}};
    m.filesystem_size_bytes = 100;
    m.filesystem_free_bytes = 60;
    m.filesystem_avail_bytes = 50;
    s.metrics[1] = m;
    s.metrics[99] = m;  // a host removed since: no series
    HostReport r;
    r.host = 1;
    r.vms = {{"vm-a", 2, 1024, "debian@12", "running"}, {"vm-\"b\"", 1, 512, "", "shut off"}};
    s.reports = {r};

    const std::string text = metrics_text(s);
    CHECK(has_line(text, "provisioner_hosts{state=\"ready\"} 2"));
    CHECK(has_line(text, "provisioner_hosts{state=\"unreachable\"} 1"));
    CHECK(has_line(text, "provisioner_hosts{state=\"discovered\"} 1"));
    CHECK(has_line(text, "provisioner_hosts{state=\"failed\"} 0"));
    CHECK(has_line(text, "# TYPE node_cpu_seconds_total counter"));
    CHECK(has_line(text, "node_cpu_seconds_total{host=\"web-1\",rack=\"r1\",mode=\"user\"} 12.5"));
    CHECK(has_line(text, "node_cpu_seconds_total{host=\"web-1\",rack=\"r1\",mode=\"idle\"} 3000"));
    CHECK(has_line(text, "node_memory_MemTotal_bytes{host=\"web-1\",rack=\"r1\"} 8589934592"));
    CHECK(has_line(text, "node_memory_MemAvailable_bytes{host=\"web-1\",rack=\"r1\"} 4294967296"));
    CHECK(has_line(text, "node_load1{host=\"web-1\",rack=\"r1\"} 0.25"));
    CHECK(has_line(text, "node_boot_time_seconds{host=\"web-1\",rack=\"r1\"} 1764806400"));
    CHECK(has_line(text,
                   "node_filesystem_avail_bytes{host=\"web-1\",rack=\"r1\",mountpoint=\"/\"} 50"));
    CHECK(has_line(text, "# TYPE node_network_receive_bytes_total counter"));
    CHECK(has_line(
        text, "node_network_transmit_errs_total{host=\"web-1\",rack=\"r1\",device=\"eth0\"} 4"));
    CHECK(text.find("host=\"web-2\"") == std::string::npos);  // no metrics reported
    CHECK(has_line(text,
                   "libvirt_domain_info_maximum_memory_bytes{host=\"web-1\",rack=\"r1\","
                   "domain=\"vm-a\"} 1073741824"));
    CHECK(has_line(
        text, "libvirt_domain_info_virtual_cpus{host=\"web-1\",rack=\"r1\",domain=\"vm-a\"} 2"));
    CHECK(
        has_line(text, "libvirt_domain_info_vstate{host=\"web-1\",rack=\"r1\",domain=\"vm-a\"} 1"));
    CHECK(has_line(
        text, "libvirt_domain_info_vstate{host=\"web-1\",rack=\"r1\",domain=\"vm-\\\"b\\\"\"} 5"));
    // Each family's HELP and TYPE once, before its samples.
    std::size_t types = 0;
    for (std::size_t at = text.find("# TYPE node_load1 "); at != std::string::npos;
         at = text.find("# TYPE node_load1 ", at + 1))
        ++types;
    CHECK(types == 1);
}

TEST_CASE("metrics text: written in pieces (a streamed scrape), the same bytes, cut between lines") {
    auto s = std::make_shared<MetricsSnapshot>();
    s->version = "dev";
    wire::HostMetrics m;
    m.cpu_seconds = {{"user", 1.5}, {"idle", 30}};
    m.network = {{"eth0", 1, 2, 3, 4}};
    LatestVmMetrics latest;
    for (HostId id = 1; id <= 40; ++id) {
        s->hosts.push_back(host(id, ("h" + std::to_string(id)).c_str(), "r\"1", HostState::ready));
        if (id % 3) s->metrics[id] = m;
        HostReport r;
        r.host = id;
        std::vector<wire::ReportedVm> wire_vms;
        for (int v = 0; v < 5; ++v) {
            r.vms.push_back({"vm" + std::to_string(v), 1, 512, "debian@12", "running"});
            wire::ReportedVm w;
            w.name = r.vms.back().name;
            if (v % 2) {  // half the VMs with libvirt's metrics, a disk and an interface
                wire::VmMetrics vm;
                vm.uuid = "u" + std::to_string(id * 10 + v);
                vm.cpu_weight_parameter = "weight";
                vm.cpu_weight = 256;
                vm.disks = {{"vda", "/d.qcow2", 1, 2, std::nullopt, 4}};
                vm.interfaces = {{"vnet0", 5, 6, 7, 8, 9, 10, 11, 12}};
                w.metrics = vm;
            }
            wire_vms.push_back(std::move(w));
        }
        s->reports.push_back(std::move(r));
        latest.update(id, 1, wire_vms);
    }
    s->vm_metrics = latest.snapshot();
    for (bool devices : {false, true}) {
        s->vm_devices = devices;
        const std::string whole = metrics_text(*s);
        const bool has_devices =
            whole.find("libvirt_domain_block_stats_read_bytes_total") != std::string::npos;
        CHECK(has_devices == devices);
        for (std::size_t piece : {std::size_t(1), std::size_t(700), std::size_t(64 * 1024)}) {
            MetricsTextWriter writer(s);
            std::string joined;
            bool more = true;
            std::size_t pieces = 0;
            while (more) {
                std::string out;
                more = writer.write(out, piece);
                if (more) CHECK(out.size() >= piece);
                CHECK((out.empty() || out.back() == '\n'));
                joined += out;
                ++pieces;
            }
            CHECK_MESSAGE(joined == whole, "pieces of " << piece);
            if (piece == 1) CHECK(pieces > 100);
        }
    }
}

TEST_CASE("metrics text: libvirt's domain states") {
    CHECK(libvirt_domain_state("running") == 1);
    CHECK(libvirt_domain_state("paused") == 3);
    CHECK(libvirt_domain_state("shut off") == 5);
    CHECK(libvirt_domain_state("crashed") == 6);
    CHECK(libvirt_domain_state("teleporting") == 0);
}

TEST_CASE("metrics text: 10,000 hosts with metrics and 20 VMs each (timing sanity)") {
    MetricsSnapshot s;
    wire::HostMetrics m;
    for (const std::string& mode : wire::cpu_modes()) m.cpu_seconds[mode] = 1234.5;
    m.network = {{"eth0", 1, 2, 3, 4}, {"lo", 5, 6, 0, 0}};
    for (HostId id = 1; id <= 10000; ++id) {
        s.hosts.push_back(host(id, ("h" + std::to_string(id)).c_str(), "r1", HostState::ready));
        s.metrics[id] = m;
        HostReport r;
        r.host = id;
        for (int v = 0; v < 20; ++v)
            r.vms.push_back({"vm" + std::to_string(v), 1, 512, "debian@12", "running"});
        s.reports.push_back(std::move(r));
    }
    const auto start = std::chrono::steady_clock::now();
    const std::string text = metrics_text(s);
    const auto ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::size_t samples = 0;
    for (std::size_t at = 0; (at = text.find('\n', at)) != std::string::npos; ++at)
        if (at + 1 < text.size() && text[at + 1] != '#') ++samples;
    // 8 modes + 6 gauges + 3 filesystem + 4 x 2 interfaces = 25 per host, 3 per VM.
    CHECK(samples == 1 + 9 + 10000 * 25 + 10000 * 20 * 3);
    MESSAGE("metrics_text: " << samples << " samples, " << text.size() / 1024 / 1024 << " MiB in "
                             << ms << " ms");
}
