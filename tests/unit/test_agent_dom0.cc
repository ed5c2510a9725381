// provisioner-agent dom0: report and action cycles against a scripted server, with libvirt's
// in-process test driver and a template store holding a tiny image made by qemu-img.
#include <doctest/doctest.h>

#include <deque>
#include <fstream>
#include <map>

#include "imaging/digest.h"
#include "provisioner/agent/dom0.h"
#include "provisioner/vmhost/process.h"
#include "provisioner/vmhost/qemu_img.h"
#include "test_agent_fake.h"
#include "test_util.h"

using namespace provisioner;
using namespace provisioner::agent;
using json = nlohmann::json;
using imaging::http::ClientRequest;
using imaging::http::ClientResponse;
namespace fs = std::filesystem;

namespace {

using agent_test::reply;
using agent_test::unreachable;

// The vms report answers with the next scripted action list (then no actions); action answers
// get 204 unless `answers_down`; the catalog's templates are served from `templates` (id ->
// record and file). Records every request.
struct FakeDom0Server {
    std::deque<json> action_lists;
    json hot_templates;                  // the answer's "templates", when not null
    std::uint32_t interval_seconds = 0;  // the answer's heartbeat interval, when not 0
    bool answers_down = false;
    std::map<std::string, std::pair<json, std::string>> templates;
    std::vector<ClientRequest> requests;

    ClientResponse operator()(const ClientRequest& request) {
        requests.push_back(request);
        std::string path = request.url.substr(request.url.find("/api/"));
        if (path == "/api/v1/agent/vms") {
            json actions = json::array();
            if (!action_lists.empty()) {
                actions = action_lists.front();
                action_lists.pop_front();
            }
            json answer = {{"actions", actions}};
            if (!hot_templates.is_null()) answer["templates"] = hot_templates;
            if (interval_seconds) answer["interval_seconds"] = interval_seconds;
            return reply(200, answer);
        }
        if (path.starts_with("/api/v1/agent/actions/"))
            return answers_down ? unreachable() : reply(204);
        if (path.starts_with(kTemplates)) return serve_template(path.substr(kTemplates.size()));
        if (path.starts_with(kDisks)) return serve_disk(request, path.substr(kDisks.size()));
        return reply(404, {{"error", {{"code", "not_found"}, {"message", path}}}});
    }
    ClientResponse serve_template(const std::string& rest) {
        bool file = rest.ends_with("/file");
        auto found = templates.find(file ? rest.substr(0, rest.size() - 5) : rest);
        if (found == templates.end())
            return reply(404, {{"error", {{"code", "not_found"}, {"message", "no " + rest}}}});
        if (!file) return reply(200, found->second.first);
        ClientResponse r = reply(200);
        r.body = found->second.second;
        return r;
    }
    static inline const std::string kTemplates = "/api/v1/agent/templates/";
    static inline const std::string kDisks = "/api/v1/agent/disks/";

    // Disk transfers: PUT ID?offset=N appends (in order), POST ID/done records its body,
    // GET ID describes it, GET ID/data?offset=N&length=M reads it; refused while disks_down.
    std::map<std::string, std::string> disks;
    std::map<std::string, json> disks_done;
    bool disks_down = false;
    ClientResponse serve_disk(const ClientRequest& request, const std::string& rest) {
        if (disks_down) return reply(500, {{"error", {{"code", "storage"}, {"message", "full"}}}});
        const std::string id = rest.substr(0, rest.find_first_of("/?"));
        auto number = [&](const std::string& key) -> std::uint64_t {
            auto at = rest.find(key + "=");
            return at == std::string::npos ? 0 : std::stoull(rest.substr(at + key.size() + 1));
        };
        std::string& held = disks[id];
        if (request.method == "PUT") {
            if (number("offset") != held.size()) return reply(400);
            held += request.body;
            return reply(204);
        }
        if (request.method == "POST") {
            disks_done[id] = json::parse(request.body);
            return reply(204);
        }
        if (rest.find("/data") == std::string::npos) {
            const auto* raw = reinterpret_cast<const std::uint8_t*>(held.data());
            return reply(200, {{"size", held.size()},
                               {"sha256", imaging::to_hex(imaging::sha256({raw, held.size()}))},
                               {"complete", true}});
        }
        ClientResponse r = reply(200);
        const std::uint64_t offset = number("offset");
        if (offset < held.size()) r.body = held.substr(offset, number("length"));
        return r;
    }
    // {path suffix -> body} of the requests to paths starting with prefix, in order.
    std::vector<std::pair<std::string, json>> posts(const std::string& prefix) const {
        std::vector<std::pair<std::string, json>> out;
        for (const auto& r : requests) {
            std::string path = r.url.substr(r.url.find("/api/"));
            if (path.starts_with(prefix))
                out.emplace_back(path.substr(prefix.size()), json::parse(r.body));
        }
        return out;
    }
};

// qemu-img is part of the project's setup (scripts/setup installs qemu-utils): without it these
// tests fail, never pass by skipping. The caller returns after the failure is recorded.
bool have_qemu_img() {
    static const bool present =
        vmhost::make_process_runner()->run({"qemu-img", "--version"}).is_ok();
    if (!present) FAIL_CHECK("qemu-img is not installed (scripts/setup installs qemu-utils)");
    return present;
}

json create_action(std::int64_t id, const std::string& name, const std::string& ref,
                   unsigned vcpus = 2, std::uint64_t memory_mib = 512) {
    return {{"id", id},
            {"kind", "create"},
            {"vm",
             {{"name", name},
              {"vcpus", vcpus},
              {"memory_mib", memory_mib},
              {"template", ref},
              {"interfaces", {{{"mac", "52:54:00:d0:00:01"}, {"network", "default"}}}}}}};
}

json vm_action(std::int64_t id, const std::string& kind, const std::string& name,
               unsigned vcpus = 0, std::uint64_t memory_mib = 0) {
    return {{"id", id},
            {"kind", kind},
            {"vm", {{"name", name}, {"vcpus", vcpus}, {"memory_mib", memory_mib}}}};
}

// test:///default is one driver per process, shared with the vmhost tests: VM names here
// start with "dom0-" and each case removes what it made.
struct Fixture {
    testutil::TempDir tmp;
    std::unique_ptr<vmhost::ProcessRunner> runner = vmhost::make_process_runner();
    std::unique_ptr<vmhost::Hypervisor> hypervisor;
    std::unique_ptr<vmhost::TemplateStore> store;
    std::unique_ptr<VmRegistry> registry;
    std::unique_ptr<VmHost> host;
    FakeDom0Server fake;
    ServerClient server{"http://server.test:8080", "host-token",
                        [this](const ClientRequest& r) { return fake(r); }};
    ServerTemplates server_templates{"http://server.test:8080", "host-token",
                                     [this](const ClientRequest& r) { return fake(r); }};
    ServerDisks server_disks{"http://server.test:8080", "host-token",
                             [this](const ClientRequest& r) { return fake(r); }};
    Dom0Options dom0_options;
    Facts facts;
    std::unique_ptr<Dom0Loop> loop;

    Fixture() {
        auto h = vmhost::open_libvirt("test:///default");
        REQUIRE_MESSAGE(h.is_ok(), h.status().message());
        hypervisor = std::move(*h);
        vmhost::TemplateStoreOptions options;
        options.runner = runner.get();
        auto s = vmhost::TemplateStore::open(tmp / "templates", options);
        REQUIRE_MESSAGE(s.is_ok(), s.status().message());
        store = std::move(*s);
        auto r = VmRegistry::open(tmp / "disks");
        REQUIRE_MESSAGE(r.is_ok(), r.status().message());
        registry = std::move(*r);
        host = std::make_unique<VmHost>(
            VmHost{*hypervisor, *store, *registry, *runner, &server_templates, &server_disks});

        fs::create_directories(tmp / "root/proc");
        std::ofstream(tmp / "root/proc/loadavg") << "2.00 1.50 1.00 3/400 12345\n";
        dom0_options.mac = "52:54:00:00:00:01";
        dom0_options.libvirt_uri = "test:///default";
        dom0_options.root = tmp / "root";
        dom0_options.reserved_vcpus = 1;
        dom0_options.reserved_memory_mib = 1024;
        facts.cpu_cores = 4;
        facts.memory_bytes = std::uint64_t(8) << 30;
        loop = std::make_unique<Dom0Loop>(dom0_options, facts, server, *host);
    }
    ~Fixture() {
        for (const auto& [name, vm] : registry->vms()) (void)hypervisor->destroy(name);
    }
    // A tiny qcow2 base template made by qemu-img, registered as tiny@1.
    void add_tiny_template() {
        vmhost::QemuImg qemu_img(*runner);
        REQUIRE(qemu_img.create(tmp / "tiny.qcow2", "qcow2", 1 << 20).is_ok());
        auto t = store->add({"tiny", "1", {"small"}, "", "qcow2"}, tmp / "tiny.qcow2",
                            vmhost::AddMode::move);
        REQUIRE_MESSAGE(t.is_ok(), t.status().message());
    }
    // The server's catalog: a file at path as template id, with its record.
    void serve_template(const std::string& id, const fs::path& path, const std::string& backing,
                        const std::string& sha256 = "") {
        std::ifstream in(path, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const auto* raw = reinterpret_cast<const std::uint8_t*>(bytes.data());
        json record = {
            {"name", id.substr(0, id.find('@'))},
            {"version", id.substr(id.find('@') + 1)},
            {"labels", {"served"}},
            {"format", "qcow2"},
            {"size", bytes.size()},
            {"sha256",
             sha256.empty() ? imaging::to_hex(imaging::sha256({raw, bytes.size()})) : sha256},
            {"backing", backing.empty() ? json(nullptr) : json(backing)}};
        fake.templates[id] = {record, bytes};
    }
    vmhost::DomainInfo domain(const std::string& name) {
        auto d = hypervisor->get(name);
        REQUIRE_MESSAGE(d.is_ok(), d.status().message());
        return *d;
    }
};

}  // namespace

TEST_CASE("agent dom0: create, reconfigure and remove a VM, answering each action") {
    if (!have_qemu_img()) return;
    Fixture f;
    f.add_tiny_template();

    f.fake.action_lists.push_back(json::array({create_action(1, "dom0-a", "tiny", 2, 512)}));
    Dom0Cycle c = f.loop->cycle();
    CHECK(c.reported);
    CHECK(c.actions_ok == 1);
    auto a = f.domain("dom0-a");
    CHECK(a.vcpus == 2);
    CHECK(a.memory_mib == 512);
    fs::path disk = f.tmp / "disks/dom0-a.qcow2";
    REQUIRE(a.disks.size() == 1);
    CHECK(fs::path(a.disks[0]) == disk);
    auto chain = vmhost::QemuImg(*f.runner).backing_chain(disk);
    REQUIRE_MESSAGE(chain.is_ok(), chain.status().message());
    REQUIRE(chain->size() == 2);
    CHECK(chain->at(0).format == "qcow2");
    CHECK(fs::equivalent(chain->at(1).filename, f.tmp / "templates/tiny@1.qcow2"));
    auto answers = f.fake.posts("/api/v1/agent/actions/");
    REQUIRE(answers.size() == 1);
    CHECK(answers[0].first == "1");
    CHECK(answers[0].second == json{{"v", 1}, {"ok", true}});

    // Shrinking reaches the running domain ...
    f.fake.action_lists.push_back(json::array({vm_action(2, "reconfigure", "dom0-a", 1, 256)}));
    c = f.loop->cycle();
    CHECK(c.actions_ok == 1);
    a = f.domain("dom0-a");
    CHECK(a.vcpus == 1);
    CHECK(a.memory_mib == 256);
    // ... growing beyond the boot-time maximum only its config: reported as pending, so the
    // server does not plan it again.
    f.fake.action_lists.push_back(json::array({vm_action(3, "reconfigure", "dom0-a", 4, 1024)}));
    c = f.loop->cycle();
    CHECK(c.actions_ok == 1);
    f.loop->cycle();
    json reported = f.fake.posts("/api/v1/agent/vms").back().second["vms"];
    REQUIRE(reported.size() == 1);
    CHECK(reported[0]["vcpus"] == 4);
    CHECK(reported[0]["memory_mib"] == 1024);
    CHECK(reported[0]["restart_pending"] == true);

    f.fake.action_lists.push_back(json::array({vm_action(4, "remove", "dom0-a")}));
    c = f.loop->cycle();
    CHECK(c.actions_ok == 1);
    CHECK(f.hypervisor->get("dom0-a").status().code() == Code::not_found);
    CHECK(!fs::exists(disk));
    CHECK(f.registry->vms().empty());
    answers = f.fake.posts("/api/v1/agent/actions/");
    REQUIRE(answers.size() == 4);
    CHECK(answers[3].second["ok"] == true);
}

TEST_CASE("agent dom0: an unknown template fails its action and the next action still runs") {
    if (!have_qemu_img()) return;
    Fixture f;
    f.add_tiny_template();
    f.fake.action_lists.push_back(json::array({create_action(7, "dom0-x", "nosuch@1"),
                                               create_action(8, "dom0-b", "label=small", 1, 256)}));
    Dom0Cycle c = f.loop->cycle();
    CHECK(c.actions_failed == 1);
    CHECK(c.actions_ok == 1);
    auto answers = f.fake.posts("/api/v1/agent/actions/");
    REQUIRE(answers.size() == 2);
    CHECK(answers[0].first == "7");
    CHECK(answers[0].second["ok"] == false);
    CHECK(answers[0].second["error"].get<std::string>().find("nosuch") != std::string::npos);
    CHECK(answers[1].first == "8");
    CHECK(answers[1].second["ok"] == true);
    CHECK(f.hypervisor->get("dom0-x").status().code() == Code::not_found);
    CHECK(!fs::exists(f.tmp / "disks/dom0-x.qcow2"));
    CHECK(f.domain("dom0-b").memory_mib == 256);
}

TEST_CASE("agent dom0: the report carries the capacity and only the VMs this agent manages") {
    if (!have_qemu_img()) return;
    Fixture f;
    f.add_tiny_template();
    f.fake.action_lists.push_back(json::array({create_action(1, "dom0-c", "tiny@1", 1, 128)}));
    f.loop->cycle();
    f.loop->cycle();
    auto reports = f.fake.posts("/api/v1/agent/vms");
    REQUIRE(reports.size() == 2);
    const json& first = reports[0].second;
    CHECK(first["mac"] == "52:54:00:00:00:01");
    CHECK(first["capacity"] == json{{"vcpus", 4},
                                    {"memory_mib", 8192},
                                    {"load", 0.5},
                                    {"reserved_vcpus", 1},
                                    {"reserved_memory_mib", 1024},
                                    {"libvirt_uri", "test:///default"},
                                    {"live_migration", false}});
    // test:///default has its own domain "test": not ours, so not reported.
    CHECK(first["vms"] == json::array());
    // Each VM carries libvirt's numbers for it (vm_metrics.h; the test driver's own).
    json vms = reports[1].second["vms"];
    REQUIRE(vms.size() == 1);
    const json metrics = vms[0]["metrics"];
    vms[0].erase("metrics");
    CHECK(metrics["cpu_time_seconds"].get<double>() > 0);
    CHECK(metrics["memory_maximum_bytes"] == 128 * 1024 * 1024);
    CHECK(metrics["vcpus_online"] == 1);
    CHECK(metrics["state_code"] == 1);
    CHECK(metrics["cpu_weight_parameter"] == "weight");
    CHECK(metrics["uuid"].get<std::string>().size() == 36);
    REQUIRE(metrics["disks"].size() == 1);
    CHECK(metrics["disks"][0]["source"] == (f.tmp / "disks/dom0-c.qcow2").string());
    CHECK(metrics["disks"][0].contains("read_bytes"));
    CHECK(vms == json::array({{{"name", "dom0-c"},
                               {"vcpus", 1},
                               {"memory_mib", 128},
                               {"template", "tiny@1"},
                               {"state", "running"},
                               {"domain_type", "test"}}}));
}

// `xl info` in Xen 4.17's layout (Debian bookworm's xen-utils), with the figures of the qemu
// PXE test's Dom0 (a 2 GiB machine with one CPU, dom0_mem 1024 MiB; images/build-dom0).
const char* kDom0XlInfo =
    "host                   : localhost\n"
    "machine                : x86_64\n"
    "nr_cpus                : 1\n"
    "max_cpu_id             : 0\n"
    "nr_nodes               : 1\n"
    "cores_per_socket       : 1\n"
    "threads_per_core       : 1\n"
    "cpu_mhz                : 2893.202\n"
    "virt_caps              :\n"
    "total_memory           : 2047\n"
    "free_memory            : 1000\n"
    "sharing_freed_memory   : 0\n"
    "sharing_used_memory    : 0\n"
    "outstanding_claims     : 0\n"
    "free_cpus              : 0\n"
    "xen_major              : 4\n"
    "xen_minor              : 17\n"
    "xen_extra              : .5\n"
    "xen_version            : 4.17.5\n"
    "xen_caps               : xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64\n"
    "xen_scheduler          : credit2\n"
    "dom0_mem               : 1024M,max:1024M\n"
    "xend_config_format     : 4\n";

struct ScriptedXl final : vmhost::ProcessRunner {
    vmhost::ProcessResult answer{0, kDom0XlInfo, ""};
    int runs = 0;
    Result<vmhost::ProcessResult> run(const std::vector<std::string>& argv) override {
        REQUIRE(argv == std::vector<std::string>{"xl", "info"});
        ++runs;
        return answer;
    }
};

TEST_CASE("agent dom0: in Xen's Dom0 the memory offered is Xen's free memory, not Dom0's") {
    Fixture f;
    ScriptedXl xl;
    auto loop_with_xl = [&] {
        Dom0Options o = f.dom0_options;
        o.xl = &xl;
        return std::make_unique<Dom0Loop>(o, f.facts, f.server, *f.host);
    };
    // Not Xen's control domain: xl is never run, the facts (Dom0's /proc) stand.
    loop_with_xl()->cycle();
    CHECK(xl.runs == 0);
    CHECK(f.fake.posts("/api/v1/agent/vms").back().second["capacity"]["memory_mib"] == 8192);

    fs::create_directories(f.tmp / "root/proc/xen");
    std::ofstream(f.tmp / "root/proc/xen/capabilities") << "control_d\n";
    loop_with_xl()->cycle();
    CHECK(xl.runs == 1);
    json capacity = f.fake.posts("/api/v1/agent/vms").back().second["capacity"];
    CHECK(capacity["vcpus"] == 1);
    CHECK(capacity["memory_mib"] == 1000);  // not total_memory 2047, nor the facts' 8192
    CHECK(capacity["reserved_memory_mib"] == 1024);

    // A running VM's memory is out of Xen's free memory and back in the offer, since the
    // server subtracts it again; a shut-off one holds none.
    wire::Capacity c;
    auto vm = [](std::uint64_t memory_mib, const char* state) {
        wire::ReportedVm v;
        v.memory_mib = memory_mib;
        v.state = state;
        return v;
    };
    std::vector<wire::ReportedVm> vms{vm(384, "running"), vm(256, "shut off"), vm(128, "paused")};
    CHECK(apply_xen_capacity(c, {1, 2047ull << 20, 469ull << 20}, vms));
    CHECK(c.memory_mib == 469 + 384 + 128);
    CHECK(c.vcpus == 1);

    // xl failing, or an xl info without free_memory: Dom0's own figures, not an error.
    xl.answer = {1, "", "xc: error: Could not obtain handle on privileged command interface"};
    loop_with_xl()->cycle();
    CHECK(f.fake.posts("/api/v1/agent/vms").back().second["capacity"]["memory_mib"] == 8192);
    xl.answer = {0, "nr_cpus : 4\ntotal_memory : 4096\n", ""};
    loop_with_xl()->cycle();
    CHECK(f.fake.posts("/api/v1/agent/vms").back().second["capacity"]["memory_mib"] == 8192);
    CHECK_FALSE(apply_xen_capacity(c = {}, *parse_xl_info(xl.answer.out), vms));
    CHECK(parse_xl_info(kDom0XlInfo)->free_bytes == 1000ull << 20);
}

TEST_CASE("agent dom0: the report carries the host's metrics; the server's interval is followed") {
    Fixture f;
    const fs::path proc = f.tmp / "root/proc";
    fs::create_directories(proc / "net");
    std::ofstream(proc / "stat") << "cpu  100 0 50 1000 0 0 0 0 0 0\nbtime 1764806400\n";
    std::ofstream(proc / "meminfo") << "MemTotal: 8388608 kB\nMemAvailable: 4194304 kB\n";
    std::ofstream(proc / "uptime") << "12.5 40.0\n";
    std::ofstream(proc / "net/dev")
        << "Inter-| Receive | Transmit\n face |bytes packets|bytes packets\n"
        << "  eth0: 500 5 1 0 0 0 0 0 700 7 2 0 0 0 0 0\n";
    f.dom0_options.interval = std::chrono::seconds(30);
    f.loop = std::make_unique<Dom0Loop>(f.dom0_options, f.facts, f.server, *f.host);
    CHECK(f.loop->interval() == std::chrono::seconds(30));
    f.fake.interval_seconds = 2;
    Dom0Cycle c = f.loop->cycle();
    CHECK(c.reported);
    CHECK(c.server_interval == std::chrono::seconds(2));
    CHECK(f.loop->interval() == std::chrono::seconds(2));  // the shorter of the two
    auto reports = f.fake.posts("/api/v1/agent/vms");
    REQUIRE(reports.size() == 1);
    const json& metrics = reports[0].second.at("metrics");
    CHECK(metrics["cpu_seconds"]["user"] == 1.0);  // 100 ticks at 100 per second
    CHECK(metrics["memory_total_bytes"] == 8589934592ull);
    CHECK(metrics["load1"] == 2.0);
    CHECK(metrics["boot_time_seconds"] == 1764806400.0);
    CHECK(metrics["network"][0]["device"] == "eth0");
    CHECK(metrics["network"][0]["transmit_errors"] == 2);
    CHECK(metrics["filesystem"]["size_bytes"].get<std::uint64_t>() > 0);
}

TEST_CASE("agent dom0: actions on VMs it does not manage, and bad actions, are refused") {
    Fixture f;
    f.fake.action_lists.push_back(
        json::array({vm_action(1, "remove", "test"), json{{"id", 2}, {"kind", "explode"}},
                     vm_action(3, "migrate", "test")}));
    Dom0Cycle c = f.loop->cycle();
    CHECK(c.actions_failed == 3);
    CHECK(f.hypervisor->get("test").is_ok());
    auto answers = f.fake.posts("/api/v1/agent/actions/");
    REQUIRE(answers.size() == 3);
    CHECK(answers[0].second["error"].get<std::string>().find("not managed") != std::string::npos);
    CHECK(answers[1].second["error"].get<std::string>().find("explode") != std::string::npos);
    CHECK(answers[2].second["error"].get<std::string>().find("to_uri") != std::string::npos);
}

TEST_CASE("agent dom0: an answer the server missed is posted again, the action not rerun") {
    if (!have_qemu_img()) return;
    Fixture f;
    f.add_tiny_template();
    json create = create_action(5, "dom0-d", "tiny");
    f.fake.action_lists.push_back(json::array({create}));
    f.fake.answers_down = true;
    CHECK(f.loop->cycle().actions_ok == 1);
    // The server still holds the action unanswered and hands it out again.
    f.fake.answers_down = false;
    f.fake.action_lists.push_back(json::array({create}));
    Dom0Cycle c = f.loop->cycle();
    CHECK(c.actions_ok == 0);
    CHECK(c.actions_failed == 0);
    auto answers = f.fake.posts("/api/v1/agent/actions/");
    REQUIRE(answers.size() >= 2);
    CHECK(answers.back().first == "5");
    CHECK(answers.back().second == json{{"v", 1}, {"ok", true}});
}

TEST_CASE("agent dom0: a VM migrated in (its disk in --disks) is adopted with its template") {
    if (!have_qemu_img()) return;
    Fixture f;
    f.add_tiny_template();
    // What a migration leaves on the destination: the overlay at the same path, the domain.
    auto disk = f.store->create_overlay("tiny", f.registry->disk_path("dom0-m"));
    REQUIRE_MESSAGE(disk.is_ok(), disk.status().message());
    vmhost::VmSpec spec;
    spec.name = "dom0-m";
    spec.vcpus = 1;
    spec.memory_mib = 128;
    spec.disk = *disk;
    REQUIRE(f.hypervisor->create(spec).is_ok());
    f.loop->cycle();
    json vms = f.fake.posts("/api/v1/agent/vms").back().second["vms"];
    REQUIRE(vms.size() == 1);
    CHECK(vms[0]["name"] == "dom0-m");
    CHECK(vms[0]["template"] == "tiny@1");
    REQUIRE(f.registry->find("dom0-m"));
}

TEST_CASE("agent dom0: a template the store lacks is fetched from the server, backing first") {
    if (!have_qemu_img()) return;
    Fixture f;
    vmhost::QemuImg qemu_img(*f.runner);
    fs::create_directories(f.tmp / "srv");
    REQUIRE(qemu_img.create(f.tmp / "srv/base@1.qcow2", "qcow2", 1 << 20).is_ok());
    REQUIRE(f.runner
                ->run({"qemu-img", "create", "-q", "-f", "qcow2", "-b", "base@1.qcow2", "-F",
                       "qcow2", (f.tmp / "srv/web@2.qcow2").string()})
                .is_ok());
    f.serve_template("base@1", f.tmp / "srv/base@1.qcow2", "");
    f.serve_template("web@2", f.tmp / "srv/web@2.qcow2", "base@1");

    f.fake.action_lists.push_back(json::array({create_action(1, "dom0-f", "web@2", 1, 128)}));
    Dom0Cycle c = f.loop->cycle();
    CHECK(c.actions_ok == 1);
    auto held = f.store->list();
    REQUIRE(held.size() == 2);
    CHECK(held[0].id() == "base@1");
    CHECK(held[1].id() == "web@2");
    CHECK(held[1].parent == "base@1");
    CHECK(held[1].labels == std::vector<std::string>{"served"});
    auto chain = qemu_img.backing_chain(f.tmp / "disks/dom0-f.qcow2");
    REQUIRE_MESSAGE(chain.is_ok(), chain.status().message());
    CHECK(chain->size() == 3);
    CHECK(f.domain("dom0-f").memory_mib == 128);

    // Held now: a second VM on it fetches nothing.
    auto before = f.fake.requests.size();
    f.fake.action_lists.push_back(json::array({create_action(2, "dom0-g", "web@2", 1, 128)}));
    CHECK(f.loop->cycle().actions_ok == 1);
    CHECK(f.fake.requests.size() == before + 2);  // the report and the answer, no template
}

// `imaging receive` that writes one file's bytes to --output.
struct OneFileImaging : ImagingRunner {
    std::string bytes;
    int runs = 0;
    ImagingOutcome run(const std::vector<std::string>& argv, const ProgressFunction&) override {
        ++runs;
        for (std::size_t i = 0; i + 1 < argv.size(); ++i)
            if (argv[i] == "--output") std::ofstream(argv[i + 1], std::ios::binary) << bytes;
        ImagingOutcome out;
        out.exit_status = 0;
        out.result = json{{"ok", true}, {"bytes_received", bytes.size()}};
        return out;
    }
};

TEST_CASE("agent dom0: the answer's hot templates are pre-copied; a create then fetches none") {
    if (!have_qemu_img()) return;
    Fixture f;
    vmhost::QemuImg qemu_img(*f.runner);
    REQUIRE(qemu_img.create(f.tmp / "hot.qcow2", "qcow2", 1 << 20).is_ok());
    OneFileImaging imaging;
    std::ifstream in(f.tmp / "hot.qcow2", std::ios::binary);
    imaging.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    const auto* raw = reinterpret_cast<const std::uint8_t*>(imaging.bytes.data());
    f.fake.hot_templates = {
        {"hot",
         {{{"template", "hot@1"},
           {"size", imaging.bytes.size()},
           {"sha256", imaging::to_hex(imaging::sha256({raw, imaging.bytes.size()}))},
           {"format", "qcow2"},
           {"backing", nullptr},
           {"delta", "10.0.0.1:9001"},
           {"secret", std::string(64, '7')}}}},
        {"cool_down", 600}};
    TemplateWorkerOptions w;
    w.tools = {"imaging", (f.tmp / "site.pub").string(), &imaging, f.runner.get()};
    TemplateWorker worker(*f.store, w);
    Dom0Loop loop(f.dom0_options, f.facts, f.server, *f.host, &worker);

    CHECK(loop.cycle().reported);
    CHECK(worker.precopy_next());
    CHECK(imaging.runs == 1);
    REQUIRE(f.store->resolve("hot@1").is_ok());
    CHECK_FALSE(worker.precopy_next());  // held now

    f.fake.action_lists.push_back(json::array({create_action(1, "dom0-hot", "hot@1", 1, 128)}));
    CHECK(loop.cycle().actions_ok == 1);
    CHECK(f.fake.posts("/api/v1/agent/templates/").empty());  // nothing fetched
    CHECK(imaging.runs == 1);
}

TEST_CASE("agent dom0: a fetched template that does not match its SHA-256 is not added") {
    if (!have_qemu_img()) return;
    Fixture f;
    vmhost::QemuImg qemu_img(*f.runner);
    REQUIRE(qemu_img.create(f.tmp / "base.qcow2", "qcow2", 1 << 20).is_ok());
    f.serve_template("base@1", f.tmp / "base.qcow2", "", std::string(64, '0'));
    f.fake.action_lists.push_back(json::array({create_action(1, "dom0-h", "base@1", 1, 128)}));
    CHECK(f.loop->cycle().actions_failed == 1);
    auto answers = f.fake.posts("/api/v1/agent/actions/");
    REQUIRE(answers.size() == 1);
    CHECK(answers[0].second["error"].get<std::string>().find("SHA-256") != std::string::npos);
    CHECK(f.store->list().empty());
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(f.tmp / "templates"))
        files += e.path().filename() != "templates.json";
    CHECK(files == 0);
    CHECK(f.hypervisor->get("dom0-h").status().code() == Code::not_found);
}

namespace {

json move_action(std::int64_t id, const std::string& kind, const std::string& name,
                 const std::string& transfer) {
    json a = create_action(id, name, "tiny@1", 1, 128);
    a["kind"] = kind;
    a["transfer"] = transfer;
    return a;
}

std::string file_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("agent dom0: move_send shuts the VM down and uploads its disk; abort starts it again") {
    if (!have_qemu_img()) return;
    Fixture f;
    f.add_tiny_template();
    f.fake.action_lists.push_back(json::array({create_action(1, "dom0-s", "tiny@1", 1, 128)}));
    REQUIRE(f.loop->cycle().actions_ok == 1);
    f.fake.action_lists.push_back(json::array({move_action(2, "move_send", "dom0-s", "9-dom0-s")}));
    CHECK(f.loop->cycle().actions_ok == 1);
    CHECK(f.domain("dom0-s").state == vmhost::DomainState::shut_off);
    const fs::path disk = f.tmp / "disks/dom0-s.qcow2";
    const std::string bytes = file_bytes(disk);
    CHECK(f.fake.disks["9-dom0-s"] == bytes);
    const auto* raw = reinterpret_cast<const std::uint8_t*>(bytes.data());
    CHECK(f.fake.disks_done["9-dom0-s"] ==
          json{{"size", bytes.size()},
               {"sha256", imaging::to_hex(imaging::sha256({raw, bytes.size()}))}});
    // Still defined and still reported, so that an abort can start it again.
    f.loop->cycle();
    json vms = f.fake.posts("/api/v1/agent/vms").back().second["vms"];
    REQUIRE(vms.size() == 1);
    CHECK(vms[0]["state"] == "shut off");

    f.fake.action_lists.push_back(
        json::array({move_action(3, "move_abort", "dom0-s", "9-dom0-s")}));
    CHECK(f.loop->cycle().actions_ok == 1);
    CHECK(f.domain("dom0-s").state == vmhost::DomainState::running);
    CHECK(fs::exists(disk));
}

TEST_CASE("agent dom0: a move_send whose upload fails starts the VM again and says so") {
    if (!have_qemu_img()) return;
    Fixture f;
    f.add_tiny_template();
    f.fake.action_lists.push_back(json::array({create_action(1, "dom0-u", "tiny@1", 1, 128)}));
    REQUIRE(f.loop->cycle().actions_ok == 1);
    f.fake.disks_down = true;
    f.fake.action_lists.push_back(json::array({move_action(2, "move_send", "dom0-u", "9-dom0-u")}));
    CHECK(f.loop->cycle().actions_failed == 1);
    CHECK(f.domain("dom0-u").state == vmhost::DomainState::running);
    auto answers = f.fake.posts("/api/v1/agent/actions/");
    const std::string error = answers.back().second["error"];
    CHECK(error.find("sending its disk") != std::string::npos);
    CHECK(error.find("HTTP 500: full") != std::string::npos);
    CHECK(error.find("started again here") != std::string::npos);
}

TEST_CASE("agent dom0: move_receive defines and starts the VM on this host's template copy") {
    if (!have_qemu_img()) return;
    Fixture f;
    f.add_tiny_template();
    // The source's overlay, backed by the source's own copy of tiny@1 (gone afterwards: only
    // the destination's copy counts).
    vmhost::QemuImg qemu_img(*f.runner);
    fs::create_directories(f.tmp / "src");
    REQUIRE(qemu_img.create(f.tmp / "src/tiny@1.qcow2", "qcow2", 1 << 20).is_ok());
    REQUIRE(qemu_img
                .create_overlay((f.tmp / "src/tiny@1.qcow2").string(), "qcow2",
                                f.tmp / "src/dom0-r.qcow2")
                .is_ok());
    f.fake.disks["9-dom0-r"] = file_bytes(f.tmp / "src/dom0-r.qcow2");
    fs::remove_all(f.tmp / "src");

    f.fake.action_lists.push_back(
        json::array({move_action(2, "move_receive", "dom0-r", "9-dom0-r")}));
    CHECK(f.loop->cycle().actions_ok == 1);
    auto d = f.domain("dom0-r");
    CHECK(d.state == vmhost::DomainState::running);
    CHECK(d.vcpus == 1);
    CHECK(d.memory_mib == 128);
    const fs::path disk = f.tmp / "disks/dom0-r.qcow2";
    REQUIRE(d.disks.size() == 1);
    CHECK(fs::path(d.disks[0]) == disk);
    auto chain = qemu_img.backing_chain(disk);
    REQUIRE_MESSAGE(chain.is_ok(), chain.status().message());
    REQUIRE(chain->size() == 2);
    CHECK(fs::equivalent(chain->at(1).filename, f.tmp / "templates/tiny@1.qcow2"));
    REQUIRE(f.registry->find("dom0-r"));
    CHECK(f.registry->find("dom0-r")->template_ref == "tiny@1");
    CHECK(!fs::exists(f.tmp / "disks/dom0-r.qcow2.moving"));

    // move_finish on the source: undefined, its disk deleted, no longer managed.
    f.fake.action_lists.push_back(
        json::array({move_action(3, "move_finish", "dom0-r", "9-dom0-r")}));
    CHECK(f.loop->cycle().actions_ok == 1);
    CHECK(f.hypervisor->get("dom0-r").status().code() == Code::not_found);
    CHECK(!fs::exists(disk));
    CHECK(f.registry->vms().empty());
}

TEST_CASE("agent dom0: a move_receive that cannot complete leaves nothing behind") {
    if (!have_qemu_img()) return;
    Fixture f;
    f.add_tiny_template();
    f.fake.disks["9-dom0-n"] = "not a qcow2 image";
    f.fake.action_lists.push_back(
        json::array({move_action(2, "move_receive", "dom0-n", "9-dom0-n")}));
    CHECK(f.loop->cycle().actions_failed == 1);
    auto answers = f.fake.posts("/api/v1/agent/actions/");
    const std::string error = answers.back().second["error"];
    CHECK(error.find("receiving VM dom0-n") != std::string::npos);
    CHECK(f.hypervisor->get("dom0-n").status().code() == Code::not_found);
    CHECK(!f.registry->find("dom0-n"));
    std::size_t files = 0;
    for (const auto& e : fs::directory_iterator(f.tmp / "disks"))
        files += e.path().filename() != "vms.json";
    CHECK(files == 0);
    // A move part without its transfer is refused before anything runs.
    json bare = move_action(3, "move_receive", "dom0-n", "");
    bare.erase("transfer");
    f.fake.action_lists.push_back(json::array({bare}));
    CHECK(f.loop->cycle().actions_failed == 1);
    answers = f.fake.posts("/api/v1/agent/actions/");
    CHECK(answers.back().second["error"].get<std::string>().find("\"transfer\" is missing") !=
          std::string::npos);
}

TEST_CASE("agent dom0: vms.json is saved whole, read back on open, unchanged by a failed save") {
    testutil::TempDir tmp;
    auto opened = VmRegistry::open(tmp / "disks");
    REQUIRE(opened.is_ok());
    auto& registry = **opened;
    ManagedVm web{"label=web", registry.disk_path("web1"), 4, 2048, {42}};
    vmhost::VmSpec spec;
    spec.name = "web1";
    spec.uuid = "6c3a8f5e-1b2d-4e6f-8a9b-0c1d2e3f4a5b";
    spec.vcpus = 2;
    spec.memory_mib = 1024;
    spec.interfaces = {{"52:54:00:aa:00:01", "", "", 42},
                       {"52:54:00:aa:00:02", "default", "", std::nullopt}};
    spec.oem_strings = {"provisioner.server=http://s:8080", "provisioner.token=secret"};
    web.spec = spec;
    REQUIRE(registry.put("web1", web).is_ok());
    REQUIRE(registry.put("db1", {"debian@12", registry.disk_path("db1")}).is_ok());
    REQUIRE(registry.erase("db1").is_ok());
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(tmp / "disks"))
        files.push_back(e.path().filename().string());
    CHECK(files == std::vector<std::string>{"vms.json"});  // no partial file beside it

    auto again = VmRegistry::open(tmp / "disks");
    REQUIRE(again.is_ok());
    REQUIRE((*again)->vms().size() == 1);
    const ManagedVm* read = (*again)->find("web1");
    REQUIRE(read);
    CHECK(read->template_ref == "label=web");
    CHECK(read->disk == web.disk);
    CHECK(read->pending_vcpus == 4);
    CHECK(read->pending_memory_mib == 2048);
    CHECK(read->vlans == std::vector<std::uint16_t>{42});
    REQUIRE(read->spec);
    CHECK(read->spec->name == "web1");
    CHECK(read->spec->uuid == spec.uuid);
    CHECK(read->spec->vcpus == 2);
    CHECK(read->spec->memory_mib == 1024);
    CHECK(read->spec->disk.path == web.disk);
    CHECK(read->spec->disk.format == "qcow2");
    REQUIRE(read->spec->interfaces.size() == 2);
    CHECK(read->spec->interfaces[0].mac == "52:54:00:aa:00:01");
    CHECK(read->spec->interfaces[0].vlan == std::optional<std::uint16_t>(42));
    CHECK(read->spec->interfaces[1].network == "default");
    CHECK_FALSE(read->spec->interfaces[1].vlan);
    CHECK(read->spec->oem_strings == spec.oem_strings);
    CHECK_FALSE((*again)->find("db1"));
    // The guest's token is in it: the owner's alone.
    const fs::perms mode = fs::status(tmp / "disks/vms.json").permissions() & fs::perms::all;
    CHECK(mode == (fs::perms::owner_read | fs::perms::owner_write));

    fs::remove_all(tmp / "disks");  // nowhere to write: the registry keeps what it had
    Status failed = registry.put("db2", {"debian@12", registry.disk_path("db2")});
    CHECK(failed.code() == Code::storage);
    CHECK_FALSE(registry.find("db2"));
    CHECK(registry.find("web1"));
}

namespace {

// The guest's own data on its overlay: bytes no template overlay has, so that a disk made
// afresh from the template is told apart from the kept one.
void write_guest_data(Fixture& f, const fs::path& disk) {
    vmhost::QemuImg qemu_img(*f.runner);
    REQUIRE(qemu_img.create(disk, "qcow2", 3 << 20).is_ok());
}

// The agent restarted on the same disk directory: the registry read back from vms.json.
void restart_agent(Fixture& f, ServerClient& server) {
    auto reopened = VmRegistry::open(f.tmp / "disks");
    REQUIRE_MESSAGE(reopened.is_ok(), reopened.status().message());
    auto host = std::make_unique<VmHost>(VmHost{*f.hypervisor, *f.store, **reopened, *f.runner,
                                                &f.server_templates, &f.server_disks});
    auto loop = std::make_unique<Dom0Loop>(f.dom0_options, f.facts, server, *host);
    f.loop = std::move(loop);
    f.host = std::move(host);
    f.registry = std::move(*reopened);
}

}  // namespace

TEST_CASE("agent dom0: a VM whose domain is gone is started again on its kept disk, no server") {
    if (!have_qemu_img()) return;
    Fixture f;
    f.add_tiny_template();
    f.fake.action_lists.push_back(json::array({create_action(1, "dom0-g", "tiny", 2, 512)}));
    f.fake.action_lists.push_back(json::array({vm_action(2, "reconfigure", "dom0-g", 1, 256)}));
    REQUIRE(f.loop->cycle().actions_ok == 1);
    REQUIRE(f.loop->cycle().actions_ok == 1);
    const fs::path disk = f.tmp / "disks/dom0-g.qcow2";
    write_guest_data(f, disk);
    const std::string data = file_bytes(disk);
    const std::string uuid = f.domain("dom0-g").uuid;

    // The agent comes back with its domain lost (libvirt's test driver loses its domains with
    // the agent; an operator's `virsh undefine`), and no server answers.
    REQUIRE(f.hypervisor->destroy("dom0-g").is_ok());
    ServerClient away{"http://server.test:8080", "host-token",
                      [](const ClientRequest&) { return agent_test::unreachable(); }};
    restart_agent(f, away);
    CHECK_FALSE(f.loop->cycle().reported);
    auto g = f.domain("dom0-g");
    CHECK(g.uuid == uuid);
    CHECK(g.vcpus == 1);  // as last reconfigured, not as created
    CHECK(g.memory_mib == 256);
    CHECK(g.persistent);
    CHECK(g.autostart);
    REQUIRE(g.disks.size() == 1);
    CHECK(fs::path(g.disks[0]) == disk);
    CHECK(file_bytes(disk) == data);
    CHECK(f.fake.posts("/api/v1/agent/actions/").size() == 2);  // nothing new answered

    // Back with the server: reported as it runs, and the next cycle leaves it alone.
    restart_agent(f, f.server);
    f.loop->cycle();
    json vms = f.fake.posts("/api/v1/agent/vms").back().second["vms"];
    REQUIRE(vms.size() == 1);
    CHECK(vms[0]["name"] == "dom0-g");
    CHECK(vms[0]["vcpus"] == 1);
    CHECK(f.domain("dom0-g").uuid == uuid);
}

TEST_CASE("agent dom0: a VM whose domain and disk are gone is forgotten, then created afresh") {
    if (!have_qemu_img()) return;
    Fixture f;
    f.add_tiny_template();
    f.fake.action_lists.push_back(json::array({create_action(1, "dom0-d", "tiny", 1, 256)}));
    REQUIRE(f.loop->cycle().actions_ok == 1);
    REQUIRE(f.hypervisor->destroy("dom0-d").is_ok());
    fs::remove(f.tmp / "disks/dom0-d.qcow2");
    restart_agent(f, f.server);
    f.loop->cycle();
    CHECK_FALSE(f.registry->find("dom0-d"));
    CHECK(f.hypervisor->get("dom0-d").status().code() == Code::not_found);
    CHECK(f.fake.posts("/api/v1/agent/vms").back().second["vms"].empty());
    auto reread = VmRegistry::open(f.tmp / "disks");
    REQUIRE(reread.is_ok());
    CHECK((*reread)->vms().empty());

    f.fake.action_lists.push_back(json::array({create_action(2, "dom0-d", "tiny", 1, 256)}));
    CHECK(f.loop->cycle().actions_ok == 1);
    CHECK(f.domain("dom0-d").disks.at(0) == (f.tmp / "disks/dom0-d.qcow2").string());
    CHECK(fs::exists(f.tmp / "disks/dom0-d.qcow2"));
}

TEST_CASE("agent dom0: a create for a managed VM whose domain is gone keeps its disk") {
    if (!have_qemu_img()) return;
    Fixture f;
    f.add_tiny_template();
    f.fake.action_lists.push_back(json::array({create_action(1, "dom0-c", "tiny", 1, 256)}));
    REQUIRE(f.loop->cycle().actions_ok == 1);
    const fs::path disk = f.tmp / "disks/dom0-c.qcow2";
    write_guest_data(f, disk);
    const std::string data = file_bytes(disk);
    const std::string uuid = f.domain("dom0-c").uuid;
    REQUIRE(f.hypervisor->destroy("dom0-c").is_ok());

    // Carried out before any cycle could start it again: on the kept disk, with the action's
    // spec and the kept uuid.
    auto create = parse_vm_action(create_action(2, "dom0-c", "tiny", 2, 384));
    REQUIRE(create.is_ok());
    Status s = carry_out(*create, *f.host);
    CHECK_MESSAGE(s.is_ok(), s.message());
    auto c = f.domain("dom0-c");
    CHECK(c.vcpus == 2);
    CHECK(c.memory_mib == 384);
    CHECK(c.uuid == uuid);
    CHECK(file_bytes(disk) == data);
    REQUIRE(f.registry->find("dom0-c"));
    REQUIRE(f.registry->find("dom0-c")->spec);
    CHECK(f.registry->find("dom0-c")->spec->memory_mib == 384);

    // Already started again (before this cycle's report) when the server's create comes: ok,
    // unless it asks for another template.
    CHECK(carry_out(*create, *f.host).is_ok());
    CHECK(file_bytes(disk) == data);
    auto other = parse_vm_action(create_action(3, "dom0-c", "label=small", 2, 384));
    REQUIRE(other.is_ok());
    CHECK(carry_out(*other, *f.host).code() == Code::conflict);
}

TEST_CASE("agent dom0: a record of an older vms.json, without a spec, waits for the create") {
    if (!have_qemu_img()) return;
    Fixture f;
    f.add_tiny_template();
    f.fake.action_lists.push_back(json::array({create_action(1, "dom0-o", "tiny", 1, 256)}));
    REQUIRE(f.loop->cycle().actions_ok == 1);
    const fs::path disk = f.tmp / "disks/dom0-o.qcow2";
    write_guest_data(f, disk);
    const std::string data = file_bytes(disk);
    REQUIRE(f.hypervisor->destroy("dom0-o").is_ok());
    // As an agent before this change wrote it.
    std::ofstream(f.tmp / "disks/vms.json")
        << json{{"vms", {{"dom0-o", {{"template", "tiny"}, {"disk", disk.string()}}}}}}.dump();
    restart_agent(f, f.server);
    REQUIRE(f.registry->find("dom0-o"));
    CHECK_FALSE(f.registry->find("dom0-o")->spec);

    f.loop->cycle();  // nothing to define it with: left as it is, its disk kept
    CHECK(f.hypervisor->get("dom0-o").status().code() == Code::not_found);
    CHECK(f.registry->find("dom0-o"));
    CHECK(file_bytes(disk) == data);
    CHECK(f.fake.posts("/api/v1/agent/vms").back().second["vms"].empty());

    f.fake.action_lists.push_back(json::array({create_action(2, "dom0-o", "tiny", 2, 512)}));
    CHECK(f.loop->cycle().actions_ok == 1);
    auto o = f.domain("dom0-o");
    CHECK(o.vcpus == 2);
    CHECK(fs::path(o.disks.at(0)) == disk);
    CHECK(file_bytes(disk) == data);
    REQUIRE(f.registry->find("dom0-o")->spec);  // kept from now on

    // A record of the wrong shape is a clear error, not a crash.
    std::ofstream(f.tmp / "disks/vms.json")
        << json{{"vms", {{"dom0-o", {{"template", "tiny"}, {"spec", {{"vcpus", "two"}}}}}}}}.dump();
    auto bad = VmRegistry::open(f.tmp / "disks");
    CHECK(bad.status().code() == Code::storage);
    CHECK(bad.status().message().find("bad entry dom0-o") != std::string::npos);
}
