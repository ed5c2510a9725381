// vmhost: the Hypervisor on libvirt's in-process test driver (test:///default): define,
// start, list, resize, destroy, and libvirt's errors as Status values, never on stderr.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <functional>

#include "provisioner/vmhost/hypervisor.h"
#include "test_util.h"

using namespace provisioner;
using namespace provisioner::vmhost;

namespace {

// test:///default is one shared driver per process: names are unique to this file, and each
// case removes what it made.
VmSpec spec(const std::string& name) {
    VmSpec s;
    s.name = name;
    s.vcpus = 2;
    s.memory_mib = 512;
    s.disk = {"/var/lib/provisioner/vms/" + name + ".qcow2", "qcow2"};
    s.interfaces = {{"52:54:00:aa:00:01", "", "br0", 10}, {"52:54:00:aa:00:02", "default", "", {}}};
    return s;
}

std::unique_ptr<Hypervisor> open_test() {
    auto h = open_libvirt("test:///default");
    REQUIRE_MESSAGE(h.is_ok(), h.status().message());
    return std::move(*h);
}

// What fn writes to file descriptor 2.
std::string stderr_of(const std::function<void()>& fn) {
    testutil::TempDir dir;
    std::fflush(stderr);
    int saved = ::dup(2);
    FILE* f = std::fopen((dir / "stderr").c_str(), "w+");
    ::dup2(::fileno(f), 2);
    fn();
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    std::fclose(f);
    auto bytes = testutil::read_file(dir / "stderr");
    return std::string(bytes.begin(), bytes.end());
}

}  // namespace

TEST_CASE("vmhost: define, start, list, resize and destroy through libvirt's test driver") {
    auto h = open_test();
    CHECK(h->kind() == DomainKind::test);
    REQUIRE_MESSAGE(h->create(spec("vmhost-a")).is_ok(), "create vmhost-a");
    VmSpec b = spec("vmhost-b");
    b.uuid = "0f0e0d0c-0b0a-0908-0706-050403020100";
    b.vcpus = 1;
    b.memory_mib = 256;
    b.disk.format = "raw";
    b.oem_strings = {"provisioner.guest=vmhost-b"};  // libvirt takes the <sysinfo> it makes
    REQUIRE(h->create(b).is_ok());

    auto all = h->list();
    REQUIRE_MESSAGE(all.is_ok(), all.status().message());
    std::vector<DomainInfo> ours;
    for (auto& d : *all)
        if (d.name.rfind("vmhost-", 0) == 0) ours.push_back(d);
    REQUIRE(ours.size() == 2);
    CHECK(ours[0].name == "vmhost-a");
    CHECK(ours[0].state == DomainState::running);
    CHECK(ours[0].vcpus == 2);
    CHECK(ours[0].memory_mib == 512);
    CHECK(ours[0].persistent);
    CHECK(ours[0].disks == std::vector<std::string>{"/var/lib/provisioner/vms/vmhost-a.qcow2"});
    CHECK(ours[1].name == "vmhost-b");
    CHECK(ours[1].uuid == b.uuid);
    CHECK(ours[1].vcpus == 1);
    CHECK(ours[1].memory_mib == 256);

    // Within the boot-time maximum a resize reaches the running domain ...
    auto applied = h->set_vcpus("vmhost-a", 1);
    REQUIRE_MESSAGE(applied.is_ok(), applied.status().message());
    CHECK(*applied == Applied::live_and_config);
    CHECK(h->get("vmhost-a")->vcpus == 1);
    applied = h->set_memory("vmhost-a", 256);
    REQUIRE_MESSAGE(applied.is_ok(), applied.status().message());
    CHECK(*applied == Applied::live_and_config);
    CHECK(h->get("vmhost-a")->memory_mib == 256);
    // ... beyond it only the config changes, for the next start.
    applied = h->set_vcpus("vmhost-a", 4);
    REQUIRE_MESSAGE(applied.is_ok(), applied.status().message());
    CHECK(*applied == Applied::config_only);
    applied = h->set_memory("vmhost-a", 2048);
    REQUIRE_MESSAGE(applied.is_ok(), applied.status().message());
    CHECK(*applied == Applied::config_only);
    CHECK(h->get("vmhost-a")->max_memory_mib == 512);

    // After a restart the domain runs with the new config.
    REQUIRE(h->destroy("vmhost-b").is_ok());
    CHECK(h->get("vmhost-b").status().code() == Code::not_found);
    REQUIRE(h->destroy("vmhost-a").is_ok());
    VmSpec bigger = spec("vmhost-a");
    bigger.vcpus = 4;
    bigger.memory_mib = 2048;
    REQUIRE(h->create(bigger).is_ok());
    auto a = h->get("vmhost-a");
    REQUIRE(a.is_ok());
    CHECK(a->vcpus == 4);
    CHECK(a->memory_mib == 2048);
    REQUIRE(h->destroy("vmhost-a").is_ok());
    for (auto& d : *h->list()) CHECK(d.name.rfind("vmhost-", 0) != 0);
}

TEST_CASE("vmhost: a domain comes back with its hypervisor unless it was stopped on purpose") {
    auto h = open_test();
    REQUIRE(h->create(spec("vmhost-auto")).is_ok());
    CHECK(h->get("vmhost-auto")->autostart);  // a Dom0 reboot starts it again, no server asked
    REQUIRE(h->power_off("vmhost-auto").is_ok());
    auto off = h->get("vmhost-auto");
    CHECK(off->state == DomainState::shut_off);
    CHECK_FALSE(off->autostart);  // stopped by an action: it stays stopped after a reboot
    REQUIRE(h->start("vmhost-auto").is_ok());
    CHECK(h->get("vmhost-auto")->autostart);
    REQUIRE(h->shutdown("vmhost-auto").is_ok());
    CHECK_FALSE(h->get("vmhost-auto")->autostart);
    REQUIRE(h->start("vmhost-auto").is_ok());  // ok when it already runs, and marked again
    CHECK(h->get("vmhost-auto")->autostart);
    REQUIRE(h->destroy("vmhost-auto").is_ok());
}

TEST_CASE("vmhost: libvirt errors carry libvirt's message and print nothing") {
    auto h = open_test();
    std::string printed = stderr_of([&] {
        auto gone = h->destroy("vmhost-none");
        CHECK(gone.code() == Code::not_found);
        CHECK_MESSAGE(gone.message().find("vmhost-none") != std::string::npos, gone.message());
        CHECK_MESSAGE(gone.message().find("omain not found") != std::string::npos, gone.message());
        CHECK(h->set_vcpus("vmhost-none", 2).status().code() == Code::not_found);
        CHECK(h->set_memory("vmhost-none", 2).status().code() == Code::not_found);

        REQUIRE(h->create(spec("vmhost-dup")).is_ok());
        auto dup = h->create(spec("vmhost-dup"));
        CHECK(dup.code() == Code::conflict);
        CHECK(dup.message().find("already exists") != std::string::npos);

        // The test driver cannot migrate: libvirt says so, and the domain stays.
        auto moved = h->migrate("vmhost-dup", "test:///default", {});
        CHECK(!moved.is_ok());
        CHECK_MESSAGE(
            moved.message().find("migrating domain 'vmhost-dup' to test:///default: ") == 0,
            moved.message());
        CHECK(moved.message().size() > std::string("migrating ... : ").size() + 30);
        CHECK(h->get("vmhost-dup").is_ok());
        REQUIRE(h->destroy("vmhost-dup").is_ok());

        const std::string uri = "qemu+unix:///system?socket=/nonexistent/libvirt-sock";
        auto bad = open_libvirt(uri);
        CHECK(bad.status().code() == Code::storage);
        CHECK_MESSAGE(bad.status().message().rfind("connecting to " + uri + ": ", 0) == 0,
                      bad.status().message());
        CHECK_MESSAGE(bad.status().message().find("/nonexistent/libvirt-sock") != std::string::npos,
                      bad.status().message());
        CHECK(open_libvirt("lxc:///").status().code() == Code::invalid_argument);

        VmSpec invalid = spec("vmhost-bad");
        invalid.vcpus = 0;
        CHECK(h->create(invalid).code() == Code::invalid_argument);
        CHECK(h->get("vmhost-bad").status().code() == Code::not_found);
    });
    CHECK_MESSAGE(printed.empty(), printed);
}

TEST_CASE("vmhost: a domain's statistics from libvirt's test driver") {
    auto h = open_test();
    // The driver's own domain "test": running, 2 vCPUs, 8 GiB maximum and 2 GiB in use, the
    // fair scheduler's weight 50, disk vda on /guest/diskimage1 and interface testnet0.
    auto stats = h->stats("test");
    REQUIRE_MESSAGE(stats.is_ok(), stats.status().message());
    CHECK(stats->name == "test");
    CHECK(stats->uuid.size() == 36);
    CHECK(stats->state == 1);
    CHECK(stats->cpu_time_ns > 0);
    CHECK(stats->max_memory_kib == 8388608);
    CHECK(stats->memory_kib == 2097152);
    CHECK(stats->vcpus == 2);
    CHECK(stats->max_vcpus == 2);
    bool weight = false;
    for (const SchedulerParam& p : stats->scheduler)
        if (p.field == "weight") weight = p.value == 50;
    CHECK(weight);
    REQUIRE(stats->disks.size() == 1);
    CHECK(stats->disks[0].target == "vda");
    CHECK(stats->disks[0].source == "/guest/diskimage1");
    CHECK(stats->disks[0].rd_bytes >= 0);
    CHECK(stats->disks[0].wr_req >= 0);
    REQUIRE(stats->interfaces.size() == 1);
    CHECK(stats->interfaces[0].device == "testnet0");
    CHECK(stats->interfaces[0].rx_bytes >= 0);
    CHECK(stats->interfaces[0].tx_drop >= 0);

    // A domain of ours (the driver names its interfaces testnetN).
    REQUIRE(h->create(spec("vmhost-stats")).is_ok());
    auto ours = h->stats("vmhost-stats");
    REQUIRE_MESSAGE(ours.is_ok(), ours.status().message());
    CHECK(ours->vcpus == 2);
    CHECK(ours->memory_kib == 512 * 1024);
    REQUIRE(ours->disks.size() == 1);
    CHECK(ours->disks[0].source == "/var/lib/provisioner/vms/vmhost-stats.qcow2");
    REQUIRE(ours->interfaces.size() == 2);
    CHECK_FALSE(ours->interfaces[0].device.empty());
    CHECK(ours->interfaces[0].rx_bytes >= 0);
    CHECK(ours->interfaces[1].rx_packets >= 0);
    // Shut off: its info, but no device statistics.
    REQUIRE(h->power_off("vmhost-stats").is_ok());
    auto off = h->stats("vmhost-stats");
    REQUIRE(off.is_ok());
    CHECK(off->state == 5);
    CHECK(off->disks.empty());
    CHECK(off->interfaces.empty());
    REQUIRE(h->destroy("vmhost-stats").is_ok());
    CHECK(h->stats("vmhost-stats").status().code() == Code::not_found);
}
