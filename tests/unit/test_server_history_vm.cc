// What the metrics history records of a VM's libvirt metrics: libvirt exporter's names, counters
// as rates, an absent counter left out; and a VM's history served by its name.
#include <doctest/doctest.h>

#include "base/clock.h"
#include "history_vm_samples.h"
#include "metrics_history.h"
#include "test_util.h"

using namespace provisioner;
using namespace provisioner::server;

TEST_CASE("vm samples: libvirt exporter's names; counters libvirt did not give are left out") {
    wire::VmMetrics m;
    m.cpu_time_seconds = 12.5;
    m.memory_maximum_bytes = 512ull << 20;
    m.memory_used_bytes = 256ull << 20;
    m.vcpus_online = 2;
    m.vcpus_maximum = 4;
    m.state_code = 1;
    m.cpu_weight_parameter = "weight";
    m.cpu_weight = 256;
    m.disks = {{"vda", "/var/lib/disk.qcow2", 4096, 2, std::nullopt, std::nullopt}};
    m.interfaces = {{"vnet0", 100, 1, 0, 0, 200, 2, 0, 0}};
    SeriesShapes shapes;
    auto samples = vm_samples(m, shapes);
    REQUIRE(samples.series->size() == samples.values.size());
    CHECK(samples.size() == 7 + 2 + 8);
    const std::vector<Series>& series = *samples.series;
    CHECK(series[0].metric == "libvirt_domain_info_cpu_time_seconds_total");
    CHECK(series[0].kind == SeriesKind::counter);
    int reads = 0, writes = 0;
    for (std::size_t i = 0; i < series.size(); ++i) {
        reads += series[i].metric == "libvirt_domain_block_stats_read_bytes_total";
        writes += series[i].metric == "libvirt_domain_block_stats_write_bytes_total";
        if (series[i].metric == "libvirt_domain_info_memory_usage_bytes")
            CHECK(samples.values[i] == double(256 << 20));
    }
    CHECK(reads == 1);
    CHECK(writes == 0);
    CHECK(display_name(series[7]) ==
          "libvirt_domain_block_stats_read_bytes_total{target_device=\"vda\"}");

    // A report of the same shape shares the series; another disk, or a counter libvirt now
    // gives, is another shape.
    m.cpu_time_seconds = 20;
    auto again = vm_samples(m, shapes);
    CHECK(again.series == samples.series);
    CHECK(again.values[0] == 20);
    m.disks[0].write_bytes = 1;
    auto wider = vm_samples(m, shapes);
    CHECK(wider.series != samples.series);
    CHECK(wider.size() == samples.size() + 1);
    m.disks[0].write_bytes.reset();
    m.disks[0].device = "vdb";
    auto other = vm_samples(m, shapes);
    CHECK(other.series != samples.series);
    CHECK((*other.series)[7].labels[0].second == "vdb");
    CHECK(shapes.size() == 3);

    // Recorded as a VM: CPU time as a rate of CPU seconds per second.
    testutil::TempDir dir;
    base::FakeClock clock;
    MetricsHistory history(HistoryOptions{dir.path(), {{10, 6}, {60, 10}}, 100, 0, {}}, clock);
    const Entity vm{EntityKind::vm, "web1"};
    const std::int64_t t0 = 1'800'000'000;
    history.record(vm, double(t0), vm_samples(m, history.shapes()));
    m.cpu_time_seconds += 5;
    history.record(vm, double(t0 + 10), vm_samples(m, history.shapes()));
    history.flush();
    auto a = history.read(vm, t0, t0 + 15, 10);
    REQUIRE(a);
    REQUIRE(a->series[0].metric == "libvirt_domain_info_cpu_time_seconds_total");
    CHECK(a->values[0].back() == doctest::Approx(0.5));
}
