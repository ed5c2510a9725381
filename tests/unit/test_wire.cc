// The server<->agent contract (provisioner/wire): every message round-trips, ignores fields it
// does not know, refuses each missing required field and each wrongly typed one by name, and
// keeps the version rule; today's JSON (no "v") still reads, and encodes to the same fields.
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "provisioner/wire/dom0.h"
#include "provisioner/wire/guest.h"
#include "provisioner/wire/hello.h"
#include "provisioner/wire/imaging_report.h"
#include "provisioner/wire/vm_action.h"
#include "test_wire_samples.h"

namespace wire = provisioner::wire;
using nlohmann::json;

namespace {

// "/image/name" -> "image.name", "/vms/0/name" -> "vms[0].name": how errors name a field.
std::string dotted(const std::string& pointer) {
    std::string out;
    std::size_t at = 1;
    while (at <= pointer.size()) {
        std::size_t end = pointer.find('/', at);
        if (end == std::string::npos) end = pointer.size();
        std::string part = pointer.substr(at, end - at);
        bool index = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
        out += index ? "[" + part + "]" : (out.empty() ? "" : ".") + part;
        at = end + 1;
    }
    return out;
}

// Adds a field nobody knows to every object of j, except under the pointers in opaque (kept
// as they are by the decoders, so an addition there would be kept too).
void add_unknown_fields(json& j, const std::string& here, const std::set<std::string>& opaque) {
    if (opaque.count(here)) return;
    if (j.is_object()) {
        for (auto& [key, value] : j.items()) add_unknown_fields(value, here + "/" + key, opaque);
        j["added_by_a_newer_side"] = {{"nested", {1, 2, 3}}};
    } else if (j.is_array()) {
        for (std::size_t i = 0; i < j.size(); ++i)
            add_unknown_fields(j[i], here + "/" + std::to_string(i), opaque);
    }
}

struct Contract {
    std::vector<std::string> required;                      // JSON pointers
    std::vector<std::pair<std::string, json>> wrong_types;  // pointer, a value of another type
    std::set<std::string> opaque;                           // pointers kept as they are
};

template <class T>
void check_contract(const T& sample, const Contract& contract) {
    CAPTURE(T::kName);
    const json encoded = wire::encode(sample);
    CHECK(encoded.at("v") == T::kVersion);

    auto back = wire::decode<T>(encoded);
    REQUIRE_MESSAGE(back, back.status().message());
    CHECK(*back == sample);

    auto from_text = wire::parse<T>(encoded.dump());
    REQUIRE(from_text);
    CHECK(*from_text == sample);

    json extended = encoded;
    add_unknown_fields(extended, "", contract.opaque);
    auto tolerant = wire::decode<T>(extended);
    REQUIRE_MESSAGE(tolerant, tolerant.status().message());
    CHECK(*tolerant == sample);

    for (const std::string& pointer : contract.required) {
        CAPTURE(pointer);
        json missing = encoded;
        json::json_pointer p(pointer);
        missing[p.parent_pointer()].erase(p.back());
        auto refused = wire::decode<T>(missing);
        REQUIRE_FALSE(refused);
        CHECK(refused.status().code() == provisioner::Code::invalid_argument);
        CHECK(refused.status().message().find("\"" + dotted(pointer) + "\" is missing") !=
              std::string::npos);
        CHECK(refused.status().message().find(T::kName) == 0);
        json nulled = encoded;  // null is absent
        nulled[p] = nullptr;
        CHECK_FALSE(wire::decode<T>(nulled));
    }
    for (const auto& wrong_type : contract.wrong_types) {
        // Named, not a structured binding: CAPTURE's lambda cannot capture one in clang 14.
        const std::string& pointer = wrong_type.first;
        const json& value = wrong_type.second;
        CAPTURE(pointer);
        CAPTURE(value.dump());
        json wrong = encoded;
        wrong[json::json_pointer(pointer)] = value;
        auto refused = wire::decode<T>(wrong);
        REQUIRE_FALSE(refused);
        CHECK(refused.status().message().find("\"" + dotted(pointer) + "\"") != std::string::npos);
    }

    // The version (each message's own): absent reads as 1 (sent before the contract), a newer
    // one is refused naming both, a malformed one is refused.
    json unversioned = encoded;
    unversioned.erase("v");
    auto old = wire::decode<T>(unversioned);
    REQUIRE(old);
    CHECK(*old == sample);
    json newer = encoded;
    newer["v"] = T::kVersion + 1;
    auto refused = wire::decode<T>(newer);
    REQUIRE_FALSE(refused);
    CHECK(refused.status().message() ==
          std::string(T::kName) + ": version " + std::to_string(T::kVersion + 1) +
              " is newer than this side reads (" + std::to_string(T::kVersion) + "); upgrade it");
    for (json bad : {json("1"), json(0), json(-1), json(1.5)}) {
        json malformed = encoded;
        malformed["v"] = bad;
        CHECK_FALSE(wire::decode<T>(malformed));
    }
    CHECK_FALSE(wire::decode<T>(json::array()));
    CHECK_FALSE(wire::decode<T>(json("text")));
    CHECK_FALSE(wire::parse<T>("{\"v\": 1,"));
}

// A VM of debian@12 as a report lists it, without libvirt's metrics.
wire::ReportedVm reported_vm(const std::string& name, std::uint32_t vcpus,
                             std::uint64_t memory_mib, const std::string& state,
                             bool restart_pending) {
    wire::ReportedVm vm;
    vm.name = name;
    vm.vcpus = vcpus;
    vm.memory_mib = memory_mib;
    vm.template_ref = "debian@12";
    vm.state = state;
    vm.restart_pending = restart_pending;
    return vm;
}

const std::string kSha(64, 'a');
const std::string kSecret(64, '7');

wire::Job sample_job(wire::Transport transport) {
    wire::Job job;
    job.deployment = 3;
    job.transport = transport;
    job.image_id = 1;
    job.image_name = "dom0";
    job.image_version = "2";
    job.raw_size = 8ull << 30;
    job.stored_size = 1ull << 30;
    job.image_sha256 = kSha;
    job.pubkey_pem = "-----BEGIN PUBLIC KEY-----\nMCow\n-----END PUBLIC KEY-----\n";
    job.disk = "/dev/sda";
    job.host = "h1";
    job.token = "d4_3_x";
    job.dom0_token = "h4_3_y";
    if (transport != wire::Transport::torrent) job.secret = kSecret;
    job.delta_from = transport == wire::Transport::delta ? "10.77.0.1:7000" : "";
    job.multicast_group = transport == wire::Transport::multicast ? "239.77.0.3" : "";
    job.multicast_port = transport == wire::Transport::multicast ? 9003 : 0;
    job.torrent_url =
        transport == wire::Transport::torrent ? "http://10.77.0.1:8080/torrents/3.torrent" : "";
    if (transport == wire::Transport::torrent)
        job.torrent_peer_cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n";
    return job;
}

wire::VmAction sample_action(wire::VmAction::Kind kind) {
    wire::VmAction a;
    a.id = 42;
    a.kind = kind;
    a.vm.name = "web1";
    a.vm.vcpus = 2;
    a.vm.memory_mib = 1024;
    a.vm.template_ref = "debian@12";
    a.vm.interfaces = {{"52:54:00:aa:00:01", "lan", "", 10}, {"52:54:00:aa:00:02", "", "br0", 0}};
    if (kind == wire::VmAction::Kind::create || kind == wire::VmAction::Kind::move_receive)
        a.vm.guest = "provisioner.server=https://s provisioner.guest=web1 provisioner.token=g_1";
    if (kind == wire::VmAction::Kind::migrate) a.to_uri = "xen+ssh://h2/system";
    if (wire::is_move_part(kind)) a.transfer = "t17";
    return a;
}

}  // namespace

TEST_CASE("wire: hello round-trips; mac required, mode defaults to image") {
    wire::Hello hello{
        "52:54:00:00:00:01", "discover", {{"hostname", "h1"}, {"cpu", {{"cores", 8}}}}};
    check_contract(hello, {{"/mac"}, {{"/mac", 7}, {"/mode", false}, {"/facts", "x"}}, {"/facts"}});
    auto bare = wire::decode<wire::Hello>(json{{"mac", "52:54:00:00:00:01"}});
    REQUIRE(bare);
    CHECK(bare->mode == "image");
    CHECK(bare->facts.is_null());
    CHECK_FALSE(wire::decode<wire::Hello>(json{{"mac", ""}}));
}

TEST_CASE("wire: a job of each transport round-trips; what pins it is required") {
    Contract common{
        {"/deployment", "/transport", "/image", "/image/name", "/image/image_sha256", "/pubkey"},
        {{"/deployment", "3"},
         {"/deployment", 2.5},
         {"/transport", 1},
         {"/image", "dom0"},
         {"/image/name", 1},
         {"/image/raw_size", -1},
         {"/image/stored_size", "big"},
         {"/image/image_sha256", json::array()},
         {"/pubkey", json::object()},
         {"/disk", 0},
         {"/token", 1},
         {"/secret", true}},
        {}};
    Contract delta = common;
    delta.required.push_back("/delta");
    delta.required.push_back("/delta/from");
    delta.wrong_types.push_back({"/delta/from", 7000});
    check_contract(sample_job(wire::Transport::delta), delta);
    Contract multicast = common;
    multicast.required.insert(multicast.required.end(),
                              {"/multicast", "/multicast/group", "/multicast/port"});
    multicast.wrong_types.push_back({"/multicast/port", 70000});
    multicast.wrong_types.push_back({"/multicast/port", "9003"});
    check_contract(sample_job(wire::Transport::multicast), multicast);
    Contract torrent = common;
    torrent.required.insert(torrent.required.end(), {"/torrent", "/torrent/url"});
    torrent.wrong_types.push_back({"/torrent/peer_cert", 1});
    check_contract(sample_job(wire::Transport::torrent), torrent);
    // A swarm certificate without its key (or no PEM at all) is refused, not passed on.
    json keyless = wire::encode(sample_job(wire::Transport::torrent));
    keyless["torrent"]["peer_cert"] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    auto refused = wire::decode<wire::Job>(keyless);
    REQUIRE_FALSE(refused);
    CHECK(refused.status().message().find("peer_cert") != std::string::npos);
    json open = wire::encode(sample_job(wire::Transport::torrent));
    open["torrent"].erase("peer_cert");
    CHECK(wire::decode<wire::Job>(open));  // an open swarm

    json j = wire::encode(sample_job(wire::Transport::delta));
    j["image"]["image_sha256"] = "abc";
    CHECK(wire::decode<wire::Job>(j).status().message() ==
          "job: \"image.image_sha256\" must be 64 hex digits (the job pins its image)");
    j = wire::encode(sample_job(wire::Transport::delta));
    j["secret"] = "zz";
    CHECK(wire::decode<wire::Job>(j).status().message() == "job: \"secret\" must be 64 hex digits");
    j = wire::encode(sample_job(wire::Transport::delta));
    j["transport"] = "carrier-pigeon";
    CHECK(wire::decode<wire::Job>(j).status().message() ==
          "job: \"transport\" must be delta, multicast or torrent, not \"carrier-pigeon\"");
}

TEST_CASE("wire: today's job JSON (no \"v\") reads, and encodes to the same fields") {
    // As orchestrator.cc and api_agent.cc wrote it before the contract.
    json today = {{"deployment", 3},
                  {"transport", "multicast"},
                  {"image",
                   {{"id", 1},
                    {"name", "dom0"},
                    {"version", "2"},
                    {"raw_size", 100},
                    {"stored_size", 50},
                    {"image_sha256", kSha}}},
                  {"pubkey", "PEM"},
                  {"disk", ""},
                  {"host", "h1"},
                  {"multicast", {{"group", "239.77.0.3"}, {"port", 9003}}},
                  {"secret", kSecret},
                  {"token", "d"},
                  {"dom0_token", "h"}};
    auto job = wire::decode<wire::Job>(today);
    REQUIRE_MESSAGE(job, job.status().message());
    json again = wire::encode(*job);
    again.erase("v");
    CHECK(again == today);
    json answer = {{"action", "image"}, {"job", today}};
    auto hello = wire::decode<wire::HelloAnswer>(answer);
    REQUIRE(hello);
    CHECK(hello->job == *job);
}

TEST_CASE("wire: hello answers: image with its job, wait, none") {
    wire::HelloAnswer image;
    image.action = wire::HelloAnswer::Action::image;
    image.job = sample_job(wire::Transport::torrent);
    check_contract(image, {{"/action", "/job"}, {{"/action", 1}, {"/job", "x"}}, {}});
    wire::HelloAnswer wait;
    wait.action = wire::HelloAnswer::Action::wait;
    wait.retry_after_ms = 1000;
    check_contract(wait, {{"/action"}, {{"/retry_after_ms", -5}}, {}});
    wire::HelloAnswer none;
    none.reason = "no deployment for this host";
    check_contract(none, {{"/action"}, {{"/reason", 3}}, {}});
    CHECK(wire::decode<wire::HelloAnswer>(json{{"action", "dance"}}).status().message() ==
          "hello answer: \"action\" must be image, wait or none, not \"dance\"");
    // The job's own error, in its answer's words.
    json bad = wire::encode(image);
    bad["job"].erase("pubkey");
    CHECK(wire::decode<wire::HelloAnswer>(bad).status().message() ==
          "hello answer: job: \"pubkey\" is missing");
    // Each message has its own version: a newer job inside an answer the agent can read.
    json newer_job = wire::encode(image);
    newer_job["job"]["v"] = wire::Job::kVersion + 1;
    CHECK(wire::decode<wire::HelloAnswer>(newer_job).status().message() ==
          "hello answer: job: version 2 is newer than this side reads (1); upgrade it");
}

TEST_CASE("wire: progress and result") {
    check_contract(wire::Progress{3, 1 << 20, 8 << 20},
                   {{"/deployment", "/bytes_done", "/bytes_total"},
                    {{"/deployment", "3"}, {"/bytes_done", -1}, {"/bytes_total", 1.5}},
                    {}});
    wire::ImagingResult good{
        3, true, "", {{"sha256", kSha}, {"bytes_received", 10}, {"seconds", 1.5}}};
    check_contract(good, {{"/deployment", "/ok"},
                          {{"/ok", "true"}, {"/ok", 1}, {"/result", json::array()}},
                          {"/result"}});
    wire::ImagingResult bad{3, false, "disk full", nullptr};
    check_contract(bad, {{"/deployment", "/ok"}, {{"/error", 5}}, {}});
    CHECK_FALSE(wire::encode(bad).contains("result"));
    CHECK_FALSE(wire::encode(good).contains("error"));
}

TEST_CASE("wire: a Dom0 report round-trips; capacity and each VM's name are required") {
    wire::Dom0Report report;
    report.mac = "52:54:00:00:00:02";
    report.capacity = {16, 65536, 0.25, 2, 4096, "qemu+tcp://10.0.0.2/system", true};
    report.vms = {reported_vm("web1", 2, 1024, "running", false),
                  reported_vm("db1", 4, 8192, "shut off", true)};
    check_contract(report, {{"/capacity", "/capacity/vcpus", "/capacity/memory_mib", "/vms/1/name"},
                            {{"/capacity", 1},
                             {"/capacity/vcpus", -2},
                             {"/capacity/load", "high"},
                             {"/capacity/live_migration", "yes"},
                             {"/capacity/libvirt_uri", 1},
                             {"/vms", json::object()},
                             {"/vms/0/vcpus", "2"},
                             {"/vms/1/restart_pending", 1},
                             {"/vms/0", "web1"},
                             {"/mac", 5}},
                            {}});
    // With the host's metrics (optional: an agent older than them sends none).
    wire::HostMetrics metrics;
    metrics.cpu_seconds = {{"user", 101321.53}, {"idle", 468284.83}, {"steal", 0}};
    metrics.memory_total_bytes = 16ull << 30;
    metrics.memory_available_bytes = 9ull << 30;
    metrics.load1 = 0.5;
    metrics.load15 = 2;
    metrics.boot_time_seconds = 1764806400;
    metrics.uptime_seconds = 3600.25;
    metrics.network = {{"eth0", 1000, 2000, 3, 4}, {"lo", 10, 10, 0, 0}};
    metrics.filesystem_size_bytes = 100ull << 30;
    metrics.filesystem_free_bytes = 60ull << 30;
    metrics.filesystem_avail_bytes = 55ull << 30;
    report.metrics = metrics;
    check_contract(report, {{"/metrics/network/1/device"},
                            {{"/metrics", 1},
                             {"/metrics/cpu_seconds/user", "1"},
                             {"/metrics/memory_total_bytes", -1},
                             {"/metrics/load1", "high"},
                             {"/metrics/network", json::object()},
                             {"/metrics/network/0/receive_errors", "3"},
                             {"/metrics/filesystem/size_bytes", 1.5}},
                            {}});
    json negative = wire::encode(report);
    negative["metrics"]["cpu_seconds"]["idle"] = -1;
    CHECK(wire::decode<wire::Dom0Report>(negative).status().message() ==
          "vms report: \"metrics.cpu_seconds.idle\" must not be negative");
    json partial = {{"capacity", {{"vcpus", 4}, {"memory_mib", 2048}}},
                    {"metrics", {{"load1", 0.25}}}};
    auto part = wire::decode<wire::Dom0Report>(partial);
    REQUIRE(part);
    REQUIRE(part->metrics);
    CHECK(part->metrics->load1 == 0.25);
    CHECK(part->metrics->network.empty());
    // Today's agent's report, as dom0.cc and vm_actions.cc built it.
    json today = {{"mac", "52:54:00:00:00:02"},
                  {"capacity", {{"vcpus", 4}, {"memory_mib", 2048}}},
                  {"vms", json::array({{{"name", "a"}, {"template", "t@1"}}})}};
    auto read = wire::decode<wire::Dom0Report>(today);
    REQUIRE(read);
    CHECK_FALSE(read->metrics);
    CHECK(read->vms.at(0).template_ref == "t@1");
    CHECK(read->capacity.memory_mib == 2048);
    json no_vms = today;
    no_vms.erase("vms");
    CHECK(wire::decode<wire::Dom0Report>(no_vms));
    CHECK(read->templates.empty());  // absent from agents older than the field
}

TEST_CASE("wire: a Dom0 report's templates round-trip; anything but name@version is refused") {
    wire::Dom0Report report;
    report.capacity = {4, 8192, 0.5, 1, 1024, "", false};
    report.templates = {"debian@12", "web@3"};
    json encoded = wire::encode(report);
    CHECK(encoded["templates"] == json{"debian@12", "web@3"});
    auto back = wire::decode<wire::Dom0Report>(encoded);
    REQUIRE(back);
    CHECK(*back == report);
    report.templates.clear();
    CHECK_FALSE(wire::encode(report).contains("templates"));
    for (const json& bad : {json{"debian"}, json{"@1"}, json{"debian@"}, json{1},
                            json{std::string(300, 'a') + "@1"}, json("debian@1")}) {
        json message = encoded;
        message["templates"] = bad;
        CHECK_MESSAGE(!wire::decode<wire::Dom0Report>(message), bad.dump());
    }
    json many = encoded;
    many["templates"] = json::array();
    for (std::size_t i = 0; i <= wire::Dom0Report::kMaxTemplates; ++i)
        many["templates"].push_back("t@" + std::to_string(i));
    CHECK_FALSE(wire::decode<wire::Dom0Report>(many));
}

TEST_CASE("wire: a reported VM's libvirt metrics round-trip; unknown counters stay absent") {
    wire::Dom0Report report;
    report.capacity = {4, 8192, 0.5, 1, 1024, "", false};
    wire::VmMetrics m = wiretest::sample_vm_metrics();
    wire::ReportedVm vm;
    vm.name = "web1";
    vm.vcpus = 2;
    vm.memory_mib = 2048;
    vm.state = "running";
    vm.metrics = m;
    wire::ReportedVm plain;
    plain.name = "plain";
    plain.state = "shut off";
    report.vms = {vm, plain};
    check_contract(report, {{"/vms/0/metrics/disks/1/device", "/vms/0/metrics/interfaces/0/device"},
                            {{"/vms/0/metrics", 1},
                             {"/vms/0/metrics/uuid", 7},
                             {"/vms/0/metrics/cpu_time_seconds", "1"},
                             {"/vms/0/metrics/cpu_weight", -1},
                             {"/vms/0/metrics/memory_used_bytes", 1.5},
                             {"/vms/0/metrics/vcpus_online", "2"},
                             {"/vms/0/metrics/disks", json::object()},
                             {"/vms/0/metrics/disks/0/read_bytes", "1000"},
                             {"/vms/0/metrics/interfaces/1/receive_errors", -3}},
                            {}});
    const json encoded = wire::encode(report);
    // A counter libvirt did not give is left out, not written as 0.
    CHECK_FALSE(encoded["vms"][0]["metrics"]["disks"][1].contains("read_bytes"));
    CHECK(encoded["vms"][0]["metrics"]["interfaces"][1]["receive_errors"] == 0);
    CHECK_FALSE(encoded["vms"][0]["metrics"]["interfaces"][1].contains("receive_packets"));
    CHECK_FALSE(encoded["vms"][1].contains("metrics"));
    json bad = encoded;
    bad["vms"][0]["metrics"]["state_code"] = 8;
    CHECK(wire::decode<wire::Dom0Report>(bad).status().message() ==
          "vms report: \"vms[0].metrics.state_code\" must be at most 7");
    bad = encoded;
    bad["vms"][0]["metrics"]["cpu_time_seconds"] = -0.5;
    CHECK(wire::decode<wire::Dom0Report>(bad).status().message() ==
          "vms report: \"vms[0].metrics.cpu_time_seconds\" must not be negative");
    // A weight without the parameter that gives it its meaning is not kept.
    json unnamed = encoded;
    unnamed["vms"][0]["metrics"].erase("cpu_weight_parameter");
    auto read = wire::decode<wire::Dom0Report>(unnamed);
    REQUIRE(read);
    CHECK(read->vms[0].metrics->cpu_weight == 0);
    // Only a name: everything else reads as zero or empty.
    json minimal = {{"capacity", {{"vcpus", 1}, {"memory_mib", 1}}},
                    {"vms", json::array({{{"name", "a"}, {"metrics", json::object()}}})}};
    auto small = wire::decode<wire::Dom0Report>(minimal);
    REQUIRE(small);
    REQUIRE(small->vms[0].metrics);
    CHECK(*small->vms[0].metrics == wire::VmMetrics{});
}

TEST_CASE("wire: ready carries the host's capacity as it is") {
    wire::Ready ready{"52:54:00:00:00:01",
                      {{"cpus", 8}, {"memory_bytes", 1 << 30}, {"disk_free_bytes", 5}}};
    check_contract(ready, {{"/capacity"}, {{"/capacity", 8}, {"/mac", 1}}, {"/capacity"}});
    auto today = wire::decode<wire::Ready>(json{{"capacity", json::object()}});  // the old agent's
    REQUIRE(today);
    CHECK(today->mac.empty());
}

TEST_CASE("wire: every kind of VM action round-trips; each kind's own field is required") {
    using Kind = wire::VmAction::Kind;
    Contract common{{"/id", "/kind", "/vm", "/vm/name", "/vm/interfaces/0/mac"},
                    {{"/id", "42"},
                     {"/kind", 1},
                     {"/vm", "web1"},
                     {"/vm/vcpus", -1},
                     {"/vm/memory_mib", "1G"},
                     {"/vm/interfaces", json::object()},
                     {"/vm/interfaces/0/vlan", 4095},
                     {"/vm/interfaces/1/network", 1},
                     {"/vm/template", 12}},
                    {}};
    for (Kind kind : {Kind::create, Kind::remove, Kind::reconfigure, Kind::migrate, Kind::move_send,
                      Kind::move_receive, Kind::move_finish, Kind::move_abort}) {
        CAPTURE(wire::to_string(kind));
        Contract c = common;
        if (kind == Kind::create || kind == Kind::move_receive)
            c.required.push_back("/vm/template");
        if (kind == Kind::migrate) c.required.push_back("/to_uri");
        if (wire::is_move_part(kind)) c.required.push_back("/transfer");
        check_contract(sample_action(kind), c);
    }
    json create = wire::encode(sample_action(Kind::create));
    create["vm"]["vcpus"] = 0;
    CHECK(wire::decode<wire::VmAction>(create).status().message() ==
          "vm action: create web1: \"vm.vcpus\" and \"vm.memory_mib\" are required (not 0)");
    create["kind"] = "teleport";
    CHECK(wire::decode<wire::VmAction>(create).status().message() ==
          "vm action: \"kind\" is no action kind this side knows: \"teleport\"");
    // A reconfigure that leaves memory alone sends it as null or 0.
    json resize = wire::encode(sample_action(Kind::reconfigure));
    resize["vm"]["memory_mib"] = nullptr;
    auto read = wire::decode<wire::VmAction>(resize);
    REQUIRE(read);
    CHECK(read->vm.memory_mib == 0);
}

TEST_CASE("wire: the report's answer keeps each action for its own decoding; action answers") {
    wire::Dom0Answer answer;
    answer.actions = {wire::encode(sample_action(wire::VmAction::Kind::remove)), json{{"id", 9}}};
    answer.templates = {{"hot", json::array()}, {"cool_down", 3600}, {"pubkey", "PEM"}};
    check_contract(
        answer,
        {{}, {{"/actions", json::object()}, {"/templates", "hot"}}, {"/actions", "/templates"}});
    auto empty = wire::decode<wire::Dom0Answer>(json::object());
    REQUIRE(empty);
    CHECK(empty->actions.empty());
    CHECK(empty->interval_seconds == 0);  // an older server's answer: no heartbeat interval
    answer.interval_seconds = 15;
    check_contract(answer, {{},
                            {{"/actions", json::object()}, {"/interval_seconds", "15"}},
                            {"/actions", "/templates"}});
    CHECK_FALSE(wire::encode(wire::Dom0Answer{}).contains("interval_seconds"));

    check_contract(wire::ActionAnswer{true, ""}, {{"/ok"}, {{"/ok", "yes"}}, {}});
    check_contract(wire::ActionAnswer{false, "no such template"}, {{"/ok"}, {{"/error", 1}}, {}});
}

TEST_CASE("wire: guest report and its answer") {
    using State = wire::ServiceState;
    wire::GuestReport report{"web1",
                             "10.0.10.11",
                             {{"nginx", State::service_available, "", "10.0.10.11:80"},
                              {"redis", State::failed, "exit status 100", ""},
                              {"cron", State::container_ready, "", ""}}};
    check_contract(report, {{"/vm", "/services/0/package", "/services/1/state"},
                            {{"/vm", 1},
                             {"/address", false},
                             {"/services", "nginx"},
                             {"/services/2", 3},
                             {"/services/0/state", "installed"},
                             {"/services/1/error", 100}},
                            {}});
    json bad = wire::encode(report);
    bad["services"][0]["state"] = "vm_unavailable";  // the server's, never a guest's
    CHECK(wire::decode<wire::GuestReport>(bad).status().message() ==
          "guest report: \"services[0].state\" must be vm_ready, container_ready, "
          "service_available or failed, not \"vm_unavailable\"");

    wire::GuestAnswer answer{{{"nginx", {{"port", "80"}, {"root", "/srv"}}}, {"cron", {}}}, 30};
    check_contract(answer, {{"/services", "/services/0/package", "/services/0/parameters/1/value",
                             "/services/0/parameters/0/name"},
                            {{"/services", json::object()},
                             {"/services/0/parameters", "port=80"},
                             {"/services/0/parameters/0/value", 80},
                             {"/interval", "30s"}},
                            {}});
    CHECK(wire::encode(answer).at("interval").is_number_integer());
    CHECK(
        wire::encode(answer).dump() ==
        R"({"interval":30,"services":[{"package":"nginx","parameters":[{"name":"port","value":"80"},)"
        R"({"name":"root","value":"/srv"}]},{"package":"cron","parameters":[]}],"v":1})");
}
