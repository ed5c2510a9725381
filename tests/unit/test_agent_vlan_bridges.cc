// VlanBridges against a fake `ip`: what it makes, what it keeps, what it refuses.
#include <doctest/doctest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "provisioner/agent/vlan_bridges.h"
#include "provisioner/agent/vlan_trunk.h"
#include "provisioner/agent/vm_actions.h"
#include "provisioner/vmhost/qemu_img.h"
#include "test_util.h"

using namespace provisioner;
using namespace provisioner::agent;
namespace fs = std::filesystem;

namespace {

// A kernel's links as `ip` shows and changes them; every command run is recorded.
class FakeIp : public vmhost::ProcessRunner {
  public:
    struct Link {
        std::string kind, parent, master;
        int id = -1;
        bool up = false;
    };
    std::map<std::string, Link> links{{"eth0", {}}};
    bool has_8021q = true;
    std::vector<std::string> commands;

    Result<vmhost::ProcessResult> run(const std::vector<std::string>& a) override {
        commands.push_back(base::command_line(a));
        vmhost::ProcessResult r;
        auto missing = [&](const std::string& name) {
            r.exit_code = 1;
            r.err = "Device \"" + name + "\" does not exist.\n";
            return r;
        };
        if (a.size() == 6 && a[4] == "master") {  // ip -json link show master BRIDGE
            if (!links.count(a[5])) return missing(a[5]);
            nlohmann::json ports = nlohmann::json::array();
            for (const auto& [name, link] : links)
                if (link.master == a[5]) ports.push_back({{"ifname", name}});
            r.out = ports.dump();
        } else if (a.size() == 5 && a[2] == "del") {  // ip link del dev NAME
            if (!links.erase(a[4])) return missing(a[4]);
            for (auto& [name, link] : links)
                if (link.master == a[4]) link.master.clear();  // its ports leave it
        } else if (a.size() == 6 && a[4] == "type") {          // ip -json link show type bridge
            nlohmann::json all = nlohmann::json::array();
            for (const auto& [name, link] : links)
                if (link.kind == "bridge") all.push_back({{"ifname", name}});
            r.out = all.dump();
        } else if (a.size() == 7 && a[3] == "link" && a[4] == "show") {
            auto l = links.find(a[6]);
            if (l == links.end()) return missing(a[6]);
            nlohmann::json d = {{"ifname", a[6]}};
            if (!l->second.parent.empty()) d["link"] = l->second.parent;
            if (!l->second.master.empty()) d["master"] = l->second.master;
            if (!l->second.kind.empty()) {
                d["linkinfo"] = {{"info_kind", l->second.kind}};
                if (l->second.id >= 0) d["linkinfo"]["info_data"] = {{"id", l->second.id}};
            }
            r.out = nlohmann::json::array({d}).dump();
        } else if (a.size() == 11 && a[2] == "add" &&
                   a[9] == "id") {  // link add link T name N type vlan id I
            if (!has_8021q) {
                r.exit_code = 2;
                r.err = "Error: Unknown device type.\n";
                return r;
            }
            links[a[6]] = {"vlan", a[4], "", std::stoi(a[10])};
        } else if (a.size() == 7 && a[2] == "add") {  // link add name N type bridge
            links[a[4]] = {"bridge", "", "", -1};
        } else if (a.size() == 7 && a[5] == "master") {
            if (!links.count(a[4])) return missing(a[4]);
            links[a[4]].master = a[6];
        } else if (a.size() == 6 && a[5] == "up") {
            if (!links.count(a[4])) return missing(a[4]);
            links[a[4]].up = true;
        } else {
            r.exit_code = 1;
            r.err = "fake ip: unexpected command\n";
        }
        return r;
    }
};

}  // namespace

TEST_CASE("agent vlan: a VLAN's bridge on the trunk's sub-interface, made once") {
    FakeIp ip;
    VlanBridges vlans("eth0", ip);
    auto bridge = vlans.ensure(10);
    REQUIRE_MESSAGE(bridge.is_ok(), bridge.status().message());
    CHECK(*bridge == "pvbr10");
    CHECK(ip.links["pvvl10"].kind == "vlan");
    CHECK(ip.links["pvvl10"].id == 10);
    CHECK(ip.links["pvvl10"].parent == "eth0");
    CHECK(ip.links["pvvl10"].master == "pvbr10");
    CHECK(ip.links["pvvl10"].up);
    CHECK(ip.links["pvbr10"].kind == "bridge");
    CHECK(ip.links["pvbr10"].up);

    // Again (a second VM on VLAN 10, or the agent restarted): nothing is added or re-plugged.
    ip.commands.clear();
    auto again = vlans.ensure(10);
    REQUIRE(again.is_ok());
    CHECK(*again == "pvbr10");
    for (const auto& c : ip.commands) {
        CHECK_MESSAGE(c.find(" add ") == std::string::npos, c);
        CHECK_MESSAGE(c.find(" master ") == std::string::npos, c);
    }

    // Another VLAN: a bridge of its own, so nothing joins the two.
    REQUIRE(vlans.ensure(20).is_ok());
    CHECK(ip.links["pvvl20"].master == "pvbr20");
    CHECK(ip.links["pvvl10"].master == "pvbr10");
}

TEST_CASE("agent vlan: what ensure refuses") {
    FakeIp ip;
    VlanBridges vlans("eth0", ip);
    CHECK(vlans.ensure(0).status().code() == Code::invalid_argument);
    CHECK(vlans.ensure(4095).status().code() == Code::invalid_argument);

    SUBCASE("a device of the port's name that is another VLAN") {
        ip.links["pvvl30"] = {"vlan", "eth0", "", 31};
        auto r = vlans.ensure(30);
        CHECK(r.status().code() == Code::conflict);
        CHECK(r.status().message().find("pvvl30 exists but is not VLAN 30 of eth0") !=
              std::string::npos);
    }
    SUBCASE("the port's VLAN on another parent") {
        ip.links["pvvl30"] = {"vlan", "eth1", "", 30};
        CHECK(vlans.ensure(30).status().code() == Code::conflict);
    }
    SUBCASE("a device of the bridge's name that is not a bridge") {
        ip.links["pvbr30"] = {"dummy", "", "", -1};
        auto r = vlans.ensure(30);
        CHECK(r.status().code() == Code::conflict);
        CHECK(r.status().message().find("pvbr30 exists but is not a bridge") != std::string::npos);
    }
    SUBCASE("no trunk") {
        VlanBridges nowhere("eth9", ip);
        auto r = nowhere.ensure(30);
        CHECK(r.status().code() == Code::not_found);
        CHECK(r.status().message().find("the VLAN trunk eth9") != std::string::npos);
        CHECK(!ip.links.count("pvvl30"));
    }
    SUBCASE("a kernel without 802.1Q and user space off: the error says so") {
        ip.has_8021q = false;
        VlanBridges kernel_only("eth0", ip, false);
        auto r = kernel_only.ensure(30);
        REQUIRE(!r.is_ok());
        CHECK(r.status().message().find("CONFIG_VLAN_8021Q") != std::string::npos);
        CHECK(!ip.links.count("pvbr30"));
    }
    SUBCASE("a kernel without 802.1Q: user space, whose trunk must be a real interface") {
        ip.has_8021q = false;
        ip.links["pvnosuch0"] = {};
        VlanBridges user("pvnosuch0", ip);
        auto r = user.ensure(30);
        REQUIRE(!r.is_ok());
        CHECK(r.status().code() == Code::not_found);
        CHECK(r.status().message().find("VLAN 30 in user space") != std::string::npos);
        CHECK(r.status().message().find("pvnosuch0: no such interface") != std::string::npos);
    }
}

TEST_CASE("agent vlan: restore serves again every VLAN bridge of ours the host has") {
    FakeIp ip;
    ip.links["pvbr10"] = {"bridge", "", "", -1};
    ip.links["pvbr010"] = {"bridge", "", "", -1};  // not a name of ours
    ip.links["br0"] = {"bridge", "", "", -1};
    VlanBridges vlans("eth0", ip);
    CHECK(vlans.restore().empty());
    CHECK(ip.links["pvvl10"].master == "pvbr10");
    CHECK(!ip.links.count("pvvl010"));
    CHECK(!ip.links.count("pvvl8"));

    ip.links["pvbr20"] = {"bridge", "", "", -1};
    ip.links["pvvl20"] = {"vlan", "eth0", "", 21};
    auto problems = vlans.restore();
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].find("VLAN 20: pvvl20 exists but is not VLAN 20") != std::string::npos);
}

TEST_CASE("agent vlan: 802.1Q tags put on and taken off") {
    std::string frame = std::string("\xff\xff\xff\xff\xff\xff\x52\x54\x00\x00\x00\x01", 12) +
                        std::string("\x08\x06payload", 9);
    const std::string tagged = tag_frame(frame, 10);
    REQUIRE(tagged.size() == frame.size() + 4);
    CHECK(tagged.substr(0, 12) == frame.substr(0, 12));
    CHECK(tagged.substr(12, 4) == std::string("\x81\x00\x00\x0a", 4));
    CHECK(tagged.substr(16) == frame.substr(12));
    CHECK(tag_frame(frame, 4094).substr(14, 2) == std::string("\x0f\xfe", 2));
    CHECK(tag_frame(frame.substr(0, 13), 10).empty());

    // The tag still in the frame.
    auto inline_tag = untag_frame(tagged, std::nullopt);
    REQUIRE(inline_tag);
    CHECK(inline_tag->vid == 10);
    CHECK(inline_tag->frame == frame);
    // The kernel took it off into the packet's metadata (priority bits are not the VLAN).
    auto aux = untag_frame(frame, std::uint16_t(0xe000 | 20));
    REQUIRE(aux);
    CHECK(aux->vid == 20);
    CHECK(aux->frame == frame);
    // Untagged, priority-tagged, short: not a VLAN's.
    CHECK(!untag_frame(frame, std::nullopt));
    CHECK(!untag_frame(tag_frame(frame, 0), std::nullopt));
    CHECK(!untag_frame(tagged.substr(0, 15), std::nullopt));
    CHECK(!untag_frame(frame.substr(0, 10), std::uint16_t(10)));
}

namespace {

// libvirt's test driver, keeping the spec of each domain created: what libvirt was asked for.
class RecordingHypervisor : public vmhost::Hypervisor {
  public:
    explicit RecordingHypervisor(std::unique_ptr<vmhost::Hypervisor> real)
        : real_(std::move(real)) {}
    std::vector<vmhost::VmSpec> created;

    vmhost::DomainKind kind() const override { return real_->kind(); }
    const std::string& kind_reason() const override { return real_->kind_reason(); }
    Status create(const vmhost::VmSpec& spec) override {
        created.push_back(spec);
        return real_->create(spec);
    }
    Status destroy(const std::string& n) override { return real_->destroy(n); }
    Status shutdown(const std::string& n) override { return real_->shutdown(n); }
    Status power_off(const std::string& n) override { return real_->power_off(n); }
    Status start(const std::string& n) override { return real_->start(n); }
    Result<vmhost::Applied> set_vcpus(const std::string& n, unsigned v) override {
        return real_->set_vcpus(n, v);
    }
    Result<vmhost::Applied> set_memory(const std::string& n, std::uint64_t m) override {
        return real_->set_memory(n, m);
    }
    Status migrate(const std::string& n, const std::string& u,
                   const vmhost::MigrateOptions& o) override {
        return real_->migrate(n, u, o);
    }
    Result<vmhost::DomainInfo> get(const std::string& n) override { return real_->get(n); }
    Result<std::vector<vmhost::DomainInfo>> list() override { return real_->list(); }
    Result<vmhost::DomainStats> stats(const std::string& n) override { return real_->stats(n); }

  private:
    std::unique_ptr<vmhost::Hypervisor> real_;
};

struct VlanHost {
    testutil::TempDir tmp;
    std::unique_ptr<vmhost::ProcessRunner> runner = vmhost::make_process_runner();
    std::unique_ptr<RecordingHypervisor> hypervisor;
    std::unique_ptr<vmhost::TemplateStore> store;
    std::unique_ptr<VmRegistry> registry;
    FakeIp ip;
    VlanBridges vlans{"eth0", ip};

    VlanHost() {
        auto h = vmhost::open_libvirt("test:///default");
        REQUIRE_MESSAGE(h.is_ok(), h.status().message());
        hypervisor = std::make_unique<RecordingHypervisor>(std::move(*h));
        vmhost::TemplateStoreOptions options;
        options.runner = runner.get();
        auto s = vmhost::TemplateStore::open(tmp / "templates", options);
        REQUIRE_MESSAGE(s.is_ok(), s.status().message());
        store = std::move(*s);
        auto r = VmRegistry::open(tmp / "disks");
        REQUIRE_MESSAGE(r.is_ok(), r.status().message());
        registry = std::move(*r);
        vmhost::QemuImg qemu_img(*runner);
        REQUIRE(qemu_img.create(tmp / "tiny.qcow2", "qcow2", 1 << 20).is_ok());
        REQUIRE(
            store->add({"tiny", "1", {}, "", "qcow2"}, tmp / "tiny.qcow2", vmhost::AddMode::move)
                .is_ok());
    }
    ~VlanHost() {
        for (const auto& [name, vm] : registry->vms()) (void)hypervisor->destroy(name);
    }
    VmHost host() {
        VmHost h{*hypervisor, *store, *registry, *runner};
        h.bridge = "vmbr0";
        h.vlans = &vlans;
        return h;
    }
    static VmAction create(const std::string& name) {
        auto a = parse_vm_action(nlohmann::json{
            {"id", 1},
            {"kind", "create"},
            {"vm",
             {{"name", name},
              {"vcpus", 1},
              {"memory_mib", 64},
              {"template", "tiny@1"},
              {"interfaces",
               {{{"mac", "52:54:00:aa:00:01"}},
                {{"mac", "52:54:00:aa:00:02"}, {"network", "front"}, {"vlan", 10}}}}}}});
        REQUIRE_MESSAGE(a.is_ok(), a.status().message());
        return *a;
    }
};

}  // namespace

TEST_CASE("agent vlan: a VM's interface on a site VLAN is defined on that VLAN's bridge") {
    VlanHost f;
    VmHost host = f.host();
    Status s = carry_out(VlanHost::create("vlan-a"), host);
    REQUIRE_MESSAGE(s.is_ok(), s.message());
    REQUIRE(f.hypervisor->created.size() == 1);
    const auto& nics = f.hypervisor->created[0].interfaces;
    REQUIRE(nics.size() == 2);
    CHECK(nics[0].bridge == "vmbr0");  // the hosts' untagged network: --bridge
    CHECK(nics[1].bridge == "pvbr10");
    CHECK(nics[1].network.empty());
    CHECK(!nics[1].vlan);  // untagged in its VLAN's bridge: libvirt's <vlan> is OVS-only
    CHECK(f.ip.links["pvvl10"].master == "pvbr10");
}

TEST_CASE("agent vlan: a VLAN that cannot be made fails the create and leaves nothing") {
    VlanHost f;
    f.ip.links["pvvl10"] = {"vlan", "eth0", "", 11};
    VmHost host = f.host();
    Status s = carry_out(VlanHost::create("vlan-b"), host);
    REQUIRE(!s.is_ok());
    CHECK(s.code() == Code::conflict);
    CHECK(s.message().find("VM vlan-b: interface 52:54:00:aa:00:02 on VLAN 10") !=
          std::string::npos);
    CHECK(f.hypervisor->created.empty());
    CHECK(!f.registry->find("vlan-b"));
    CHECK(!fs::exists(f.registry->disk_path("vlan-b")));
}

TEST_CASE("agent vlan: a VLAN's bridge and port go once no interface is left in the bridge") {
    FakeIp ip;
    VlanBridges vlans("eth0", ip);
    REQUIRE(vlans.ensure(10).is_ok());
    ip.links["vnet0"] = {"tun", "", "pvbr10", -1};  // a VM's interface
    auto kept = vlans.release(10);
    REQUIRE_MESSAGE(kept.is_ok(), kept.status().message());
    CHECK_FALSE(*kept);
    CHECK(ip.links.count("pvbr10"));
    CHECK(ip.links.count("pvvl10"));

    ip.links.erase("vnet0");
    auto released = vlans.release(10);
    REQUIRE_MESSAGE(released.is_ok(), released.status().message());
    CHECK(*released);
    CHECK_FALSE(ip.links.count("pvbr10"));
    CHECK_FALSE(ip.links.count("pvvl10"));
    CHECK(ip.links.count("eth0"));

    auto absent = vlans.release(10);  // nothing left to remove
    REQUIRE(absent.is_ok());
    CHECK_FALSE(*absent);
    CHECK(vlans.release(0).status().code() == Code::invalid_argument);
    REQUIRE(vlans.ensure(10).is_ok());  // made again for the next VM on it
    CHECK(ip.links["pvvl10"].master == "pvbr10");
}

TEST_CASE("agent vlan: the last VM on a VLAN to leave the host takes the VLAN's bridge along") {
    VlanHost f;
    VmHost host = f.host();
    auto named = [](const std::string& name, const char* kind) {
        auto a =
            parse_vm_action(nlohmann::json{{"id", 2}, {"kind", kind}, {"vm", {{"name", name}}}});
        REQUIRE_MESSAGE(a.is_ok(), a.status().message());
        return *a;
    };
    for (const char* vm : {"vlan-c", "vlan-d"}) {
        Status s = carry_out(VlanHost::create(vm), host);
        REQUIRE_MESSAGE(s.is_ok(), s.message());
    }
    // vms.json says which VLANs each VM is on, for after an agent restart too.
    auto reopened = VmRegistry::open(f.tmp / "disks");
    REQUIRE(reopened.is_ok());
    REQUIRE((*reopened)->find("vlan-c"));
    CHECK((*reopened)->find("vlan-c")->vlans == std::vector<std::uint16_t>{10});

    // vlan-d, shut off or running, is still on VLAN 10: the bridge stays.
    REQUIRE(carry_out(named("vlan-c", "remove"), host).is_ok());
    CHECK(f.ip.links.count("pvbr10"));
    CHECK(f.ip.links["pvvl10"].master == "pvbr10");

    f.ip.commands.clear();
    REQUIRE(carry_out(named("vlan-d", "remove"), host).is_ok());
    CHECK_FALSE(f.ip.links.count("pvbr10"));
    CHECK_FALSE(f.ip.links.count("pvvl10"));
    CHECK(f.ip.commands.back() == "ip link del dev pvbr10");
}

TEST_CASE("agent vlan: after a Dom0 reboot a VM on a VLAN is started again on a new bridge") {
    VlanHost f;
    VmHost host = f.host();
    REQUIRE(carry_out(VlanHost::create("vlan-r"), host).is_ok());
    const fs::path disk = f.registry->disk_path("vlan-r");
    // The reboot: the domain lost (a transient one, or the test driver's), the links gone.
    REQUIRE(f.hypervisor->destroy("vlan-r").is_ok());
    f.ip.links = {{"eth0", {}}};

    // A VLAN that cannot be made now: the start fails, the disk and the record stay.
    f.ip.links["pvvl10"] = {"vlan", "eth0", "", 11};
    auto listed = f.hypervisor->list();
    REQUIRE(listed.is_ok());
    auto tried = restore_missing_vms(host, *listed);
    REQUIRE(tried.size() == 1);
    CHECK(tried[0].name == "vlan-r");
    CHECK(tried[0].outcome == VmRestore::Outcome::failed);
    CHECK(tried[0].detail.find("on VLAN 10") != std::string::npos);
    CHECK(fs::exists(disk));
    REQUIRE(f.registry->find("vlan-r"));
    CHECK(f.registry->find("vlan-r")->vlans == std::vector<std::uint16_t>{10});
    CHECK(f.hypervisor->created.size() == 1);

    // Next time it can: the VLAN's bridge made again, the VM defined on it and its kept disk.
    f.ip.links.erase("pvvl10");
    listed = f.hypervisor->list();
    REQUIRE(listed.is_ok());
    tried = restore_missing_vms(host, *listed);
    REQUIRE(tried.size() == 1);
    CHECK_MESSAGE(tried[0].outcome == VmRestore::Outcome::restarted, tried[0].detail);
    REQUIRE(f.hypervisor->created.size() == 2);
    const vmhost::VmSpec& again = f.hypervisor->created[1];
    CHECK(again.disk.path == disk);
    CHECK(!again.uuid.empty());  // the one libvirt gave it first, kept
    REQUIRE(again.interfaces.size() == 2);
    CHECK(again.interfaces[0].bridge == "vmbr0");
    CHECK(again.interfaces[0].mac == "52:54:00:aa:00:01");
    CHECK(again.interfaces[1].bridge == "pvbr10");
    CHECK(again.interfaces[1].mac == "52:54:00:aa:00:02");
    CHECK(f.ip.links["pvvl10"].master == "pvbr10");
    CHECK(f.registry->find("vlan-r")->spec->interfaces.at(1).vlan ==
          std::optional<std::uint16_t>(10));

    // Running again: nothing to do.
    listed = f.hypervisor->list();
    REQUIRE(listed.is_ok());
    CHECK(restore_missing_vms(host, *listed).empty());
}
