// A rack server's copies of the hot templates (provisioner/server/rack_templates.h, issue 20
// item 4): what it fetches (every hot template, once a rack it serves has a Dom0 host), from
// whom (the serving server, as HotTemplateLease::held_elsewhere() names it), how (delta,
// every chunk against the signed manifest; a copy found damaged at start is fetched again),
// its delta servers of the copies (Orchestrator::set_rack_templates()), their publication
// sealed under the site key (image_peers.h), and the answer to a Dom0 report: the rack
// server's copy for the hosts of its rack while it is live, the serving server's otherwise.
#include <doctest/doctest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <fstream>

#include "image_peers.h"
#include "imaging/secret.h"
#include "lease_keeper.h"
#include "rack_dhcp.h"
#include "rack_image_cache.h"
#include "rack_images.h"
#include "rack_templates.h"
#include "template_image.h"
#include "test_delta_server.h"
#include "test_server_fixture.h"
#include "test_util.h"

using namespace servertest;
using deltatest::RunningServer;

namespace {

const std::string kRackTemplatesSealKey = "the site key's text";

std::string template_file_bytes(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Server s plays the serving server (pvA, which packed the templates); the rig is rack server
// pvB of rack r2 on the same store.
struct TemplateRig {
    Server s;
    base::FakeClock clock;
    imaging::Secret secret = *imaging::random_secret();  // the serving template server's
    std::unique_ptr<RackImageCache> cache;
    std::optional<std::pair<std::string, TemplateDelta>> serving;
    std::vector<Orchestrator::RackTemplate> served;
    std::set<std::string> served_racks;
    std::vector<std::string> log;
    std::unique_ptr<RackTemplates> rack;
    Template debian;

    TemplateRig() {
        s.config.template_cool_down = std::chrono::seconds(3600);
        s.add_template("debian", "1");
        REQUIRE(s.last_status == 201);
        s.add_template("scratch", "1");  // never used: cold, never fetched
        REQUIRE(s.last_status == 201);
        debian = *s.store->find_template("debian", "1");
        REQUIRE(s.store->mark_template_used(debian.id, s.store->now()));
        open_cache();
    }
    void open_cache() {
        rack.reset();
        cache.reset();
        auto opened = RackImageCache::open({s.dir.path() / "template-cache", 1ull << 30,
                                            s.dir.path() / "site.pub", std::chrono::seconds(5)},
                                           clock);
        REQUIRE(opened);
        cache = std::move(*opened);
        rack = std::make_unique<RackTemplates>(
            *s.store, *cache, [] { return std::set<std::string>{"r2"}; },
            [this](TemplateId) { return serving; },
            [this](const std::vector<Orchestrator::RackTemplate>& copies,
                   const std::set<std::string>& racks) {
                served = copies;
                served_racks = racks;
            },
            s.config.template_cool_down, clock, [this](const std::string& l) { log.push_back(l); });
    }
    std::filesystem::path packed() const {
        return template_image_dir(s.dir / "templates", "debian@1");
    }
    void serve_from(const RunningServer& delta) {
        serving = std::pair{std::string("pvA"),
                            TemplateDelta{delta.address(), imaging::secret_to_hex(secret)}};
    }
    Host host(const std::string& name, const std::string& rack_name, int n, HostState state) {
        auto h = s.store->add_host(
            {*Mac::parse("52:54:00:00:02:0" + std::to_string(n)), name, "", rack_name}, state,
            "test");
        REQUIRE(h);
        return *h;
    }
    std::size_t logged(const std::string& part) const {
        return std::size_t(std::count_if(log.begin(), log.end(), [&](const std::string& l) {
            return l.find(part) != std::string::npos;
        }));
    }
};

}  // namespace

TEST_CASE("rack templates: a rack server with a Dom0 host caches the hot templates by delta") {
    TemplateRig rig;
    RunningServer delta(RunningServer::options(rig.packed(), rig.secret));
    rig.serve_from(delta);

    // No Dom0 host in its racks (one discovered in r2, one enrolled in r1): nothing to keep.
    rig.host("h2", "r2", 2, HostState::discovered);
    rig.host("h1", "r1", 1, HostState::enrolled);
    rig.rack->tick();
    CHECK(rig.cache->copies().empty());
    CHECK(rig.served.empty());
    CHECK(rig.served_racks.empty());

    rig.host("h3", "r2", 3, HostState::enrolled);
    rig.rack->tick();
    REQUIRE(rig.cache->has(RackTemplates::image_of(rig.debian)));
    CHECK(rig.logged("rack template cache: debian@1 fetched from pvA (" + delta.address() +
                     ") by delta: 1 of 1 chunks") == 1);
    REQUIRE(rig.cache->copies().size() == 1);  // scratch@1 is cold
    const auto copy = rig.cache->copies()[0].dir;
    CHECK(template_file_bytes(copy / "chunks.pack") ==
          template_file_bytes(rig.packed() / "chunks.pack"));
    REQUIRE(rig.served.size() == 1);
    CHECK(rig.served[0].t.id == rig.debian.id);
    CHECK(rig.served[0].dir == copy);
    CHECK(rig.served_racks == std::set<std::string>{"r2"});
    auto events = rig.s.store->list_events({});
    REQUIRE(events);
    CHECK(std::any_of(events->begin(), events->end(), [](const Event& e) {
        return e.reason.find("rack template cache: debian@1 fetched from pvA") != std::string::npos;
    }));
    rig.rack->tick();  // held: no second fetch
    CHECK(rig.logged("fetched from pvA") == 1);

    // Cooled down (used long ago): no longer served here, its copy kept.
    rig.s.config.template_cool_down = std::chrono::seconds(0);
    REQUIRE(rig.s.store->mark_template_used(rig.debian.id, 0));
    rig.open_cache();  // a RackTemplates reads the cool-down at construction
    rig.rack->tick();
    CHECK(rig.served.empty());
    CHECK(rig.cache->copies().size() == 1);
}

TEST_CASE("rack templates: no serving server waits silently; a wrong secret is retried in 2 s") {
    TemplateRig rig;
    rig.host("h3", "r2", 3, HostState::enrolled);
    rig.rack->tick();  // this server serves them, or nobody yet
    CHECK(rig.log.empty());
    RunningServer delta(RunningServer::options(rig.packed(), rig.secret));
    rig.serving = std::pair{
        std::string("pvA"),
        TemplateDelta{delta.address(), imaging::secret_to_hex(*imaging::random_secret())}};
    rig.rack->tick();
    CHECK(rig.logged("rack template cache: debian@1 not fetched") == 1);
    CHECK(rig.logged("again in 2 s") == 1);
    CHECK(rig.cache->copies().empty());
    CHECK(rig.served.empty());
    rig.serve_from(delta);
    rig.rack->tick();  // not before its time
    CHECK_FALSE(rig.cache->has(RackTemplates::image_of(rig.debian)));
    rig.clock.advance(std::chrono::seconds(2));
    rig.rack->tick();
    CHECK(rig.cache->has(RackTemplates::image_of(rig.debian)));
    CHECK(rig.served.size() == 1);
}

TEST_CASE("rack templates: a copy damaged while the server was down is removed and fetched again") {
    TemplateRig rig;
    RunningServer delta(RunningServer::options(rig.packed(), rig.secret));
    rig.serve_from(delta);
    rig.host("h3", "r2", 3, HostState::enrolled);
    rig.rack->tick();
    REQUIRE(rig.cache->copies().size() == 1);
    const auto pack = rig.cache->copies()[0].dir / "chunks.pack";
    {
        std::fstream f(pack, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(8);
        f.put('\x5a');
    }
    rig.open_cache();  // a restart: the copy is held, but not served until checked
    CHECK_FALSE(rig.cache->has(RackTemplates::image_of(rig.debian)));
    CHECK(rig.cache->check_all() == 1);
    CHECK(rig.cache->copies().empty());
    rig.rack->tick();
    CHECK(rig.logged("by delta: 1 of 1 chunks") == 2);
    REQUIRE(rig.served.size() == 1);
    CHECK(template_file_bytes(rig.served[0].dir / "chunks.pack") ==
          template_file_bytes(rig.packed() / "chunks.pack"));
}

TEST_CASE("rack templates: the rack server's template servers run, listen and stop") {
    TemplateRig rig;
    RunningServer delta(RunningServer::options(rig.packed(), rig.secret));
    rig.serve_from(delta);
    rig.host("h3", "r2", 3, HostState::enrolled);
    rig.rack->tick();
    REQUIRE(rig.served.size() == 1);

    // Its delta server takes the first template port: a free one, where nothing listens yet.
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor probe(
        ioc, {boost::asio::ip::make_address("127.0.0.1"), std::uint16_t(0)});
    const std::uint16_t port = probe.local_endpoint().port();
    REQUIRE(port > 3000);
    probe.close();
    rig.s.config.delta_port = std::uint16_t(port - 2000);
    Orchestrator& o = *rig.s.orchestrator;
    o.set_rack_templates(rig.served, rig.served_racks);
    const std::size_t before = rig.s.launcher.spawned.size();
    o.tick();
    std::vector<std::string> argv;
    for (std::size_t i = before; i < rig.s.launcher.spawned.size(); ++i)
        if (rig.s.launcher.spawned[i][3] == rig.served[0].dir.string())
            argv = rig.s.launcher.spawned[i];
    REQUIRE(argv.size() > 5);
    CHECK(argv[1] == "serve");
    CHECK(argv[5] == "0.0.0.0:" + std::to_string(port));
    auto flag = std::find(argv.begin(), argv.end(), "--secret-file");
    REQUIRE(flag + 1 < argv.end());
    auto secret = imaging::read_secret_file(*(flag + 1));
    REQUIRE(secret);
    CHECK(*secret != rig.secret);              // its own, not the serving server's
    CHECK(o.rack_template_servers().empty());  // not listening yet
    CHECK_FALSE(o.template_delta(rig.debian, "r2"));

    boost::asio::ip::tcp::acceptor listener(ioc,
                                            {boost::asio::ip::make_address("127.0.0.1"), port});
    o.tick();
    const TemplateDelta mine{"127.0.0.1:" + std::to_string(port), imaging::secret_to_hex(*secret)};
    auto listed = o.rack_template_servers();
    REQUIRE(listed.size() == 1);
    CHECK(listed.at(rig.debian.id).address == mine.address);
    CHECK(listed.at(rig.debian.id).secret == mine.secret);
    auto r2 = o.template_delta(rig.debian, "r2");
    REQUIRE(r2);
    CHECK(r2->address == mine.address);
    // Another rack's host gets the serving server's (this fixture's own: none listens).
    auto r1 = o.template_delta(rig.debian, "r1");
    CHECK((!r1 || r1->address != mine.address));

    o.set_rack_templates({}, {});
    o.tick();
    CHECK(o.rack_template_servers().empty());
    CHECK_FALSE(o.template_delta(rig.debian, "r2"));
}

TEST_CASE("rack templates: published sealed; a Dom0 report of the rack names its live server's") {
    TemplateRig rig;
    const Host h1 = rig.host("h1", "r1", 1, HostState::enrolled);
    const Host h3 = rig.host("h3", "r2", 3, HostState::enrolled);
    ImagePeers b{*rig.s.store, "pvB", kRackTemplatesSealKey, [](const std::string&) {}};
    std::vector<std::string> a_log;
    ImagePeers a{*rig.s.store, "pvA", kRackTemplatesSealKey,
                 [&](const std::string& l) { a_log.push_back(l); }};
    const TemplateDelta copy{"10.77.0.2:22000", imaging::secret_to_hex(*imaging::random_secret())};
    b.publish_templates({{rig.debian.id, copy}});
    auto value = rig.s.store->get_setting(std::string(ImagePeers::kTemplatesPrefix) + "pvB");
    REQUIRE(value);
    CHECK(value->find(copy.secret) == std::string::npos);  // never in clear
    auto read = a.templates_of("pvB");
    REQUIRE(read.size() == 1);
    CHECK(read.at(rig.debian.id).address == copy.address);
    CHECK(read.at(rig.debian.id).secret == copy.secret);
    // Another site's key, another server's name, another template or address: none opens.
    CHECK_FALSE(decode_template_sources("another key", "pvB", *value));
    CHECK_FALSE(decode_template_sources(kRackTemplatesSealKey, "pvC", *value));
    std::string moved = *value;
    moved.replace(moved.find("22000"), 5, "22001");
    CHECK_FALSE(decode_template_sources(kRackTemplatesSealKey, "pvB", moved));
    std::string other = *value;
    const std::string key = "\"" + std::to_string(rig.debian.id) + "\"";
    other.replace(other.find(key), key.size(), "\"999\"");
    CHECK_FALSE(decode_template_sources(kRackTemplatesSealKey, "pvB", other));
    for (const char* bad : {"", "[]", "{\"templates\": 1}", "{\"templates\": {\"x\": {}}}",
                            "{\"templates\": {\"0\": {\"delta\": \"a\", \"sealed\": \"b\"}}}"})
        CHECK_FALSE(decode_template_sources(kRackTemplatesSealKey, "pvB", bad));

    // pvB holds rack r2's presence lease, renewed lately: r2's Dom0 hosts are sent to it.
    const Timestamp now = rig.s.store->now();
    REQUIRE(rig.s.store->acquire_lease(RackDhcp::presence_lease("r2"), "pvB", now, now + 4000));
    std::string last;
    std::vector<std::string> lines;
    auto exchange = [&] {
        exchange_rack_work(*rig.s.store, a, *rig.s.orchestrator, "pvA",
                           std::chrono::milliseconds(4000), last,
                           [&](const std::string& l) { lines.push_back(l); });
    };
    exchange();
    CHECK(std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
        return l.find("rack r2: template " + std::to_string(rig.debian.id) + " from pvB (" +
                      copy.address + ")") != std::string::npos;
    }));
    auto report = [&](const Host& h) {
        const std::string token = rig.s.auth->dom0_token(h).value();
        json body = {{"mac", h.mac.str()},
                     {"capacity", {{"vcpus", 8}, {"memory_mib", 16384}, {"load", 0.1}}},
                     {"vms", json::array()}};
        auto out = rig.s.call_json(bhttp::verb::post, "/api/v1/agent/vms", body.dump(), token);
        REQUIRE(rig.s.last_status == 200);
        for (const json& t : out["templates"]["hot"])
            if (t["template"] == "debian@1") return t;
        FAIL("debian@1 is not hot");
        return json();
    };
    json r2 = report(h3);
    CHECK(r2["delta"] == copy.address);
    CHECK(r2["secret"] == copy.secret);
    CHECK(report(h1)["delta"] != copy.address);  // rack r1: the serving server's

    // pvB stops renewing (killed): once less than half its lease is left, back to the serving
    // server.
    REQUIRE(rig.s.store->release_lease(RackDhcp::presence_lease("r2"), "pvB"));
    REQUIRE(rig.s.store->acquire_lease(RackDhcp::presence_lease("r2"), "pvB", now, now + 1000));
    exchange();
    CHECK(report(h3)["delta"] != copy.address);

    // Withdrawn at a clean stop: nothing to read.
    b.publish_templates({});
    CHECK(a.templates_of("pvB").empty());
    CHECK(a_log.empty());
}
