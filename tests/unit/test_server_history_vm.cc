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
    auto samples = vm_samples(m);
    CHECK(samples.size() == 7 + 2 + 8);
    CHECK(samples[0].series.metric == "libvirt_domain_info_cpu_time_seconds_total");
    CHECK(samples[0].series.kind == SeriesKind::counter);
    int reads = 0, writes = 0;
    for (const Sample& s : samples) {
        reads += s.series.metric == "libvirt_domain_block_stats_read_bytes_total";
        writes += s.series.metric == "libvirt_domain_block_stats_write_bytes_total";
        if (s.series.metric == "libvirt_domain_info_memory_usage_bytes")
            CHECK(s.value == double(256 << 20));
    }
    CHECK(reads == 1);
    CHECK(writes == 0);

    // Recorded as a VM: CPU time as a rate of CPU seconds per second.
    testutil::TempDir dir;
    base::FakeClock clock;
    MetricsHistory history(HistoryOptions{dir.path(), {{10, 6}, {60, 10}}, 100}, clock);
    const Entity vm{EntityKind::vm, "web1"};
    const std::int64_t t0 = 1'800'000'000;
    history.record(vm, double(t0), vm_samples(m));
    m.cpu_time_seconds += 5;
    history.record(vm, double(t0 + 10), vm_samples(m));
    history.flush();
    auto a = history.read(vm, t0, t0 + 15, 10);
    REQUIRE(a);
    REQUIRE(a->series[0].metric == "libvirt_domain_info_cpu_time_seconds_total");
    CHECK(a->values[0].back() == doctest::Approx(0.5));
}
