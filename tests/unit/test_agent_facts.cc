// provisioner-agent: facts from a fake /proc and /sys, the disk it writes, its capacity.
#include <doctest/doctest.h>

#include "provisioner/agent/capacity.h"
#include "provisioner/agent/disk_choice.h"
#include "provisioner/agent/facts.h"
#include "test_util.h"

using namespace provisioner::agent;

namespace {

using testutil::write_text;

void fake_disk(const std::filesystem::path& root, const std::string& name, std::uint64_t sectors,
               const std::string& model, int rotational, int removable) {
    auto dir = root / "sys/block" / name;
    write_text(dir / "size", std::to_string(sectors) + "\n");
    if (!model.empty()) write_text(dir / "device/model", model + "   \n");
    write_text(dir / "queue/rotational", std::to_string(rotational) + "\n");
    write_text(dir / "removable", std::to_string(removable) + "\n");
}

void fake_nic(const std::filesystem::path& root, const std::string& name, const std::string& mac,
              const std::string& speed, const std::string& state) {
    auto dir = root / "sys/class/net" / name;
    write_text(dir / "address", mac + "\n");
    if (!speed.empty()) write_text(dir / "speed", speed + "\n");
    write_text(dir / "operstate", state + "\n");
}

// A host with two CPUs, 4 GiB, an SSD, a bigger HDD, a USB stick, a loop and a zram device,
// and lo, eth0 (up, 10G) and eth1 (down).
void fake_host(const std::filesystem::path& root) {
    write_text(root / "proc/cpuinfo",
               "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) "
               "CPU E5-2680 v4 @ 2.40GHz\n\nprocessor\t: 1\nmodel name\t: Intel(R) Xeon(R) "
               "CPU E5-2680 v4 @ 2.40GHz\n");
    write_text(root / "proc/meminfo", "MemTotal:        4194304 kB\nMemFree:          100000 kB\n");
    write_text(root / "proc/sys/kernel/hostname", "rack1-h07\n");
    fake_disk(root, "sda", 937703088, "Samsung SSD 860", 0, 0);  // 480 GB
    fake_disk(root, "sdb", 3907029168, "WDC WD20EFRX", 1, 0);    // 2 TB
    fake_disk(root, "sdc", 62521344, "USB Flash", 0, 1);         // 32 GB, removable
    fake_disk(root, "loop3", 8388608, "", 0, 0);                 // 4 GiB
    fake_disk(root, "zram0", 16777216, "", 0, 0);
    fake_nic(root, "lo", "00:00:00:00:00:00", "", "unknown");
    fake_nic(root, "eth0", "52:54:00:00:00:01", "10000", "up");
    fake_nic(root, "eth1", "52:54:00:00:00:02", "-1", "down");
}

}  // namespace

TEST_CASE("agent: facts from a fake tree") {
    testutil::TempDir root;
    fake_host(root.path());
    Facts f = collect_facts(root.path());
    CHECK(f.hostname == "rack1-h07");
    CHECK(f.cpu_model == "Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz");
    CHECK(f.cpu_cores == 2);
    CHECK(f.memory_bytes == 4294967296ull);
    REQUIRE(f.disks.size() == 3);
    CHECK(f.disks[0].name == "sda");
    CHECK(f.disks[0].path == "/dev/sda");
    CHECK(f.disks[0].size_bytes == 937703088ull * 512);
    CHECK(f.disks[0].model == "Samsung SSD 860");
    CHECK_FALSE(f.disks[0].rotational);
    CHECK(f.disks[1].rotational);
    CHECK(f.disks[2].removable);
    REQUIRE(f.nics.size() == 2);
    CHECK(f.nics[0].name == "eth0");
    CHECK(f.nics[0].mac == "52:54:00:00:00:01");
    CHECK(f.nics[0].speed_mbps == 10000u);
    CHECK(f.nics[0].up);
    CHECK_FALSE(f.nics[1].speed_mbps.has_value());
    CHECK_FALSE(f.nics[1].up);

    auto j = facts_to_json(f);
    CHECK(j["hostname"] == "rack1-h07");
    CHECK(j["cpu"]["cores"] == 2);
    CHECK(j["memory_bytes"] == 4294967296ull);
    CHECK(j["disks"][1]["name"] == "sdb");
    CHECK(j["disks"][1]["rotational"] == true);
    CHECK(j["nics"][0]["speed_mbps"] == 10000);
    CHECK(j["nics"][1]["speed_mbps"].is_null());
    CHECK(j["nics"][1]["up"] == false);
}

TEST_CASE("agent: a loop disk is listed only when it is the --disk") {
    testutil::TempDir root;
    fake_host(root.path());
    for (const char* wanted : {"/dev/loop3", "loop3"}) {
        Facts f = collect_facts(root.path(), wanted);
        REQUIRE(f.disks.size() == 4);
        CHECK(f.disks[0].name == "loop3");
        CHECK(f.disks[0].size_bytes == 4ull << 30);
    }
    CHECK(collect_facts(root.path(), "/dev/loop4").disks.size() == 3);
}

TEST_CASE("agent: facts of an empty tree are empty, not an error") {
    testutil::TempDir root;
    Facts f = collect_facts(root.path());
    CHECK(f.hostname.empty());
    CHECK(f.cpu_cores == 0);
    CHECK(f.disks.empty());
    CHECK(f.nics.empty());
    CHECK(facts_to_json(f)["disks"].is_array());
}

TEST_CASE("agent: disk choice") {
    testutil::TempDir root;
    fake_host(root.path());
    Facts f = collect_facts(root.path());
    CHECK(*choose_disk("", "", f) == "/dev/sdb");             // the largest non-removable
    CHECK(*choose_disk("sda", "/dev/sdb", f) == "/dev/sda");  // the job's first
    CHECK(*choose_disk("", "/dev/loop3", f) == "/dev/loop3");
    CHECK(*choose_disk("", "nvme0n1", f) == "/dev/nvme0n1");

    Facts only_removable;
    only_removable.disks.push_back({"sdc", "/dev/sdc", 1 << 30, "", false, true});
    only_removable.disks.push_back({"sdd", "/dev/sdd", 0, "", false, false});
    auto none = choose_disk("", "", only_removable);
    REQUIRE_FALSE(none);
    CHECK(none.status().message().find("sdc (removable)") != std::string::npos);
    CHECK(none.status().message().find("--disk") != std::string::npos);
    CHECK_FALSE(choose_disk("", "", Facts{}));

    Facts tie;
    tie.disks.push_back({"sda", "/dev/sda", 100, "", false, false});
    tie.disks.push_back({"sdb", "/dev/sdb", 100, "", false, false});
    CHECK(*choose_disk("", "", tie) == "/dev/sda");
}

TEST_CASE("agent: the disk choice's reason, as host show gives it") {
    Facts f;
    f.disks.push_back({"sda", "/dev/sda", std::uint64_t(250) << 30, "", false, false});
    f.disks.push_back({"sdb", "/dev/sdb", std::uint64_t(500) << 30, "", false, false});
    f.disks.push_back({"sdc", "/dev/sdc", std::uint64_t(1) << 40, "", false, true});
    CHECK(disk_choice_reason("sda", "", f) == "the job names it");
    CHECK(disk_choice_reason("", "/dev/sda", f) == "--disk names it");
    std::string why = disk_choice_reason("", "", f);
    CHECK(why.starts_with("the largest non-removable disk (sdb 500"));
    CHECK(why.find("also sda 250") != std::string::npos);
    CHECK(why.find("sdc 1.0 TiB removable") != std::string::npos);
    CHECK(disk_choice_reason("", "", Facts{}).find("no disk to write the image to") == 0);
}

// `xl` as the test says it answers; records what it was asked.
struct FakeXl final : provisioner::vmhost::ProcessRunner {
    provisioner::vmhost::ProcessResult answer;
    std::vector<std::vector<std::string>> runs;
    provisioner::Result<provisioner::vmhost::ProcessResult> run(
        const std::vector<std::string>& argv) override {
        runs.push_back(argv);
        return answer;
    }
};

const char* kXlInfo =
    "host                   : rack1-h07\n"
    "release                : 6.1.0-56-amd64\n"
    "nr_cpus                : 16\n"
    "nr_nodes               : 1\n"
    "total_memory           : 65431\n"
    "free_memory            : 62011\n"
    "xen_version            : 4.17.6\n";

TEST_CASE("agent: capacity for ready") {
    testutil::TempDir root;
    fake_host(root.path());
    FakeXl xl;
    auto c = host_capacity(collect_facts(root.path()), root.path(), root.path(), xl);
    CHECK(c["cpus"] == 2);
    CHECK(c["memory_bytes"] == 4294967296ull);
    CHECK(c["disk_free_bytes"].get<std::uint64_t>() > 0);
    CHECK(xl.runs.empty());  // not Xen: xl is never run
    CHECK(host_capacity(Facts{}, root / "missing", root / "missing", xl)["disk_free_bytes"] == 0);
}

TEST_CASE("agent: in Xen's Dom0 the capacity is the machine's, from xl info") {
    testutil::TempDir root;
    fake_host(root.path());  // /proc/meminfo: Dom0's 4 GiB share
    write_text(root / "proc/xen/capabilities", "control_d\n");
    FakeXl xl;
    xl.answer.out = kXlInfo;
    auto c = host_capacity(collect_facts(root.path()), root.path(), root.path(), xl);
    REQUIRE(xl.runs.size() == 1);
    CHECK(xl.runs[0] == std::vector<std::string>{"xl", "info"});
    CHECK(c["cpus"] == 16);
    CHECK(c["memory_bytes"] == 65431ull << 20);

    // xl failing or saying nothing usable: Dom0's own figures, not an error.
    xl.answer = {1, "", "xl: cannot connect to the hypervisor"};
    auto fallback = host_capacity(collect_facts(root.path()), root.path(), root.path(), xl);
    CHECK(fallback["memory_bytes"] == 4294967296ull);
    CHECK_FALSE(parse_xl_info("nr_cpus : 4\n").has_value());
    CHECK_FALSE(parse_xl_info("nr_cpus : x\ntotal_memory : 10\n").has_value());
    write_text(root / "proc/xen/capabilities", "\n");  // a DomU
    CHECK_FALSE(is_xen_control_domain(root.path()));
}
