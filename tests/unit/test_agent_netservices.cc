// The Dom0 agent's network services (netservices.h) against a fake kernel: what is installed
// for each kind, that nothing is redone while nothing changes, that a removed service leaves
// none of its objects, that a restarted agent re-applies its kept set and sweeps what is ours
// but not wanted; and the compression tunnel's datagram (compress_frame.h): its tag, its
// replay window.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "../../provisioner/agent/compress_frame.h"
#include "provisioner/agent/netservices.h"
#include "test_util.h"

using namespace provisioner;
using namespace provisioner::agent;
using Kind = wire::NetService::Kind;

namespace {

// Records every command; answers the listings from what the test put in.
class FakeNetCommands : public NetCommands {
  public:
    std::vector<std::string> log;  // each argv joined by spaces; "nft -f <script>" for scripts
    std::set<std::string> links{"vif1", "vif2", "eth0"};
    std::string nft_tables = R"({"nftables": [{"metainfo": {}}]})";
    std::string rules = "[]";
    std::string routes = "[]";
    std::string qdiscs = "[]";
    std::string ingress_filters;

    Result<std::string> run(const std::vector<std::string>& argv) override {
        std::string line;
        for (const std::string& a : argv) line += (line.empty() ? "" : " ") + a;
        log.push_back(line);
        if (line == "nft -j list tables") return nft_tables;
        if (line == "ip -j rule show") return rules;
        if (line.rfind("ip -j route show", 0) == 0) return routes;
        if (line == "ip -j link show") {
            std::string out = "[";
            for (const std::string& l : links)
                out += (out.size() > 1 ? "," : "") + std::string("{\"ifname\":\"") + l + "\"}";
            return out + "]";
        }
        if (line.rfind("tc -j qdisc show", 0) == 0) return qdiscs;
        if (line.rfind("tc filter show", 0) == 0) return ingress_filters;
        if (argv.size() > 3 && argv[0] == "ip" && argv[1] == "link" && argv[2] == "add")
            links.insert(argv[3]);
        if (argv.size() > 3 && argv[0] == "ip" && argv[1] == "link" && argv[2] == "del")
            links.erase(argv[3]);
        return std::string();
    }
    Status nft_script(const std::string& script) override {
        log.push_back("nft -f " + script);
        return Status::ok();
    }
    bool link_exists(const std::string& name) override { return links.count(name) > 0; }
    bool is_bridge_port(const std::string&) override { return false; }

    std::size_t count(const std::string& prefix) const {
        return std::count_if(log.begin(), log.end(),
                             [&](const std::string& l) { return l.rfind(prefix, 0) == 0; });
    }
    bool saw(const std::string& part) const {
        return std::any_of(log.begin(), log.end(),
                           [&](const std::string& l) { return l.find(part) != std::string::npos; });
    }
};

class FakePath : public CompressPath {
  public:
    explicit FakePath(std::vector<Route>* seen, std::string* key = nullptr)
        : seen_(seen), key_(key) {}
    const std::string& device() const override { return device_; }
    void set_routes(std::vector<Route> routes) override { *seen_ = std::move(routes); }
    void set_key(std::string hex) override {
        if (key_) *key_ = std::move(hex);
    }

  private:
    std::string device_ = "pvzip0";
    std::vector<Route>* seen_;
    std::string* key_;
};

wire::NetService filter(std::vector<wire::NetAllow> allow) {
    wire::NetService s;
    s.kind = Kind::filter;
    s.allow = std::move(allow);
    return s;
}

wire::NetService limit(std::uint64_t egress, std::uint64_t ingress) {
    wire::NetService s;
    s.kind = Kind::rate_limit;
    s.egress_bps = egress;
    s.ingress_bps = ingress;
    return s;
}

wire::NetService compression(std::string peer, std::vector<std::string> to) {
    wire::NetService s;
    s.kind = Kind::compress;
    s.peer = std::move(peer);
    s.to = std::move(to);
    return s;
}

std::string interface_of(const std::string& vm) {
    return vm == "vm1" ? "vif1" : vm == "vm2" ? "vif2" : "";
}

}  // namespace

TEST_CASE("agent netservices: a filter is one nft table per VM, replaced at once, removed whole") {
    FakeNetCommands kernel;
    NetServices net(kernel, {});
    REQUIRE(net.set_desired({{"vm1", {filter({{"tcp", 22, "10.0.0.0/8"}, {"icmp", 0, ""}})}}}));
    net.reconcile(interface_of);
    REQUIRE(kernel.count("nft -f ") == 1);
    const std::string script = *std::find_if(kernel.log.begin(), kernel.log.end(),
                                             [](auto& l) { return l.rfind("nft -f ", 0) == 0; });
    CHECK(script.find("delete table inet pvns_") != std::string::npos);
    CHECK(script.find("oifname != \"vif1\" accept") != std::string::npos);
    CHECK(script.find("ct state established,related accept") != std::string::npos);
    CHECK(script.find("meta l4proto tcp ip saddr 10.0.0.0/8 tcp dport 22 accept") !=
          std::string::npos);
    CHECK(script.find("meta l4proto icmp accept") != std::string::npos);
    CHECK(script.find("meta l4proto tcp reject with tcp reset") != std::string::npos);
    CHECK(net.active("vm1").size() == 1);

    kernel.log.clear();
    net.reconcile(interface_of);  // nothing changed: nothing done
    CHECK(kernel.count("nft -f ") == 0);

    const std::string table = script.substr(script.find("pvns_"), 13);
    kernel.nft_tables =
        R"({"nftables": [{"table": {"family": "inet", "name": ")" + table + R"("}}]})";
    REQUIRE(net.set_desired({}));
    net.reconcile(interface_of);
    CHECK(kernel.saw("nft delete table inet " + table));
    CHECK(net.active("vm1").empty());
}

TEST_CASE("agent netservices: rate limits are tc tbf on the interface and on an ifb") {
    FakeNetCommands kernel;
    NetServices net(kernel, {});
    REQUIRE(net.set_desired({{"vm2", {limit(100'000'000, 20'000'000)}}}));
    net.reconcile(interface_of);
    CHECK(kernel.saw("tc qdisc replace dev vif2 root handle 1a21: tbf rate 20000000bit"));
    CHECK(kernel.saw("ip link add pvifb"));
    CHECK(
        kernel.saw("tc filter add dev vif2 parent ffff: pref 4921 protocol all u32 match u32 0 0 "
                   "action mirred egress redirect dev pvifb"));
    CHECK(kernel.saw("root handle 1a21: tbf rate 100000000bit"));

    kernel.log.clear();
    kernel.qdiscs = R"([{"kind":"tbf","handle":"1a21:","root":true}])";
    kernel.ingress_filters = "filter parent ffff: protocol all pref 4921 u32 chain 0 \n";
    REQUIRE(net.set_desired({}));
    net.reconcile(interface_of);
    CHECK(kernel.saw("tc qdisc del dev vif2 root"));
    CHECK(kernel.saw("tc qdisc del dev vif2 ingress"));
    CHECK(kernel.saw("ip link del pvifb"));
    CHECK(std::none_of(kernel.links.begin(), kernel.links.end(),
                       [](const std::string& l) { return l.rfind("pvifb", 0) == 0; }));
}

TEST_CASE("agent netservices: compression routes the VM's traffic for the networks to the tunnel") {
    testutil::TempDir dir;
    FakeNetCommands kernel;
    std::vector<CompressPath::Route> routes;
    std::string key = "unset";
    int opened = 0;
    NetServicesOptions options;
    options.state_file = dir / "netservices.json";
    options.compress_path = [&]() -> Result<std::unique_ptr<CompressPath>> {
        ++opened;
        return std::unique_ptr<CompressPath>(std::make_unique<FakePath>(&routes, &key));
    };
    const std::string site_key(64, 'c');
    NetServices net(kernel, options);
    REQUIRE(net.set_desired({{"vm1", {compression("10.77.0.12", {"10.2.0.0/24"})}}}, site_key));
    net.reconcile(interface_of);
    CHECK(opened == 1);
    CHECK(key == site_key);
    // The key is kept with the set, in a file only root reads.
    CHECK((std::filesystem::status(options.state_file).permissions() &
           std::filesystem::perms::all) ==
          (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
    {  // a restarted agent gives its tunnel the kept key
        std::vector<CompressPath::Route> routes_after;
        std::string key_after;
        NetServicesOptions restarted_options = options;
        restarted_options.compress_path = [&]() -> Result<std::unique_ptr<CompressPath>> {
            return std::unique_ptr<CompressPath>(
                std::make_unique<FakePath>(&routes_after, &key_after));
        };
        NetServices restarted(kernel, restarted_options);
        REQUIRE(restarted.load());
        restarted.reconcile(interface_of);
        CHECK(key_after == site_key);
        CHECK(routes_after.size() == 1);
    }
    const std::string other_key(64, 'd');  // a new key reaches the open tunnel at once
    REQUIRE(net.set_desired({{"vm1", {compression("10.77.0.12", {"10.2.0.0/24"})}}}, other_key));
    CHECK(key == other_key);
    REQUIRE(routes.size() == 1);
    CHECK(routes[0].cidr == "10.2.0.0/24");
    CHECK(routes[0].peer == "10.77.0.12");
    CHECK(kernel.saw("ip route replace 10.2.0.0/24 dev pvzip0 table 4790"));
    CHECK(kernel.saw("ip rule add pref 4790 iif vif1 to 10.2.0.0/24 table 4790"));

    kernel.log.clear();
    kernel.rules =
        R"([{"priority":4790,"iif":"vif1","dst":"10.2.0.0","dstlen":24,"table":"4790"}])";
    kernel.routes = R"([{"dst":"10.2.0.0/24","dev":"pvzip0"}])";
    REQUIRE(net.set_desired({}));
    net.reconcile(interface_of);
    CHECK(kernel.saw("ip rule del pref 4790 iif vif1 to 10.2.0.0/24 table 4790"));
    CHECK(kernel.saw("ip route del 10.2.0.0/24 table 4790"));
    CHECK(net.active("vm1").empty());
}

TEST_CASE("agent netservices: a VM without its interface waits; a restart re-applies and sweeps") {
    testutil::TempDir dir;
    FakeNetCommands kernel;
    NetServicesOptions options;
    options.state_file = dir / "netservices.json";
    {
        NetServices net(kernel, options);
        REQUIRE(net.set_desired({{"vm1", {filter({})}}, {"vm3", {limit(8000, 0)}}}));
        net.reconcile(interface_of);  // vm3 has no interface here: nothing for it yet
        CHECK(net.active("vm1").size() == 1);
        CHECK(net.active("vm3").empty());
    }
    kernel.log.clear();
    kernel.nft_tables =
        R"({"nftables": [{"table": {"family": "inet", "name": "pvns_00000000"}},
                         {"table": {"family": "inet", "name": "someone_elses"}}]})";
    kernel.links.insert("pvifbdeadbeef");
    NetServices again(kernel, options);
    REQUIRE(again.load());
    CHECK(again.desired().size() == 2);
    again.reconcile(interface_of);
    CHECK(kernel.count("nft -f ") == 1);  // vm1's filter, installed again
    CHECK(kernel.saw("nft delete table inet pvns_00000000"));
    CHECK_FALSE(kernel.saw("someone_elses"));
    CHECK(kernel.saw("ip link del pvifbdeadbeef"));
    CHECK(again.active("vm1").size() == 1);
}

TEST_CASE("compress frame: compressible packets shrink, others go plain, both come back") {
    std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> c(ZSTD_createCCtx(), ZSTD_freeCCtx);
    std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> d(ZSTD_createDCtx(), ZSTD_freeDCtx);
    const std::string key(32, 'k');
    const std::uint32_t sender = 0x0a4d000c;
    std::string text;
    while (text.size() < 1400) text += "GET /index.html HTTP/1.1 200 OK ";
    auto noise = testutil::random_bytes(1400, 7);
    const std::string random(noise.begin(), noise.end());
    std::string frame, back;
    CHECK(compress::encode_frame(c.get(), 1, key, sender, 5, text, frame));
    CHECK(frame.size() < text.size() / 4);
    CHECK(compress::open(key, sender, frame) == std::optional<std::uint64_t>(5));
    REQUIRE(compress::decode_frame(d.get(), frame, back));
    CHECK(back == text);
    CHECK_FALSE(compress::encode_frame(c.get(), 1, key, sender, 6, random, frame));
    CHECK(frame.size() == random.size() + compress::kOverhead);
    CHECK(compress::open(key, sender, frame) == std::optional<std::uint64_t>(6));
    REQUIRE(compress::decode_frame(d.get(), frame, back));
    CHECK(back == random);

    CHECK_FALSE(compress::decode_frame(d.get(), "Z", back));
    CHECK_FALSE(compress::decode_frame(d.get(), std::string(compress::kOverhead + 3, '\0'), back));
    std::string damaged;
    compress::encode_frame(c.get(), 1, key, sender, 7, text, damaged);
    damaged.erase(damaged.size() - compress::kTag - 3, 3);  // the zstd frame cut short
    CHECK_FALSE(compress::decode_frame(d.get(), damaged, back));
    std::string unknown = frame;
    unknown[1] = 7;
    CHECK_FALSE(compress::decode_frame(d.get(), unknown, back));
}

TEST_CASE("compress frame: only the right key, sender and bytes open a frame") {
    std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> c(ZSTD_createCCtx(), ZSTD_freeCCtx);
    const std::string key(32, 'k'), wrong(32, 'w');
    const std::uint32_t sender = 0x0a4d000c;
    std::string frame;
    compress::encode_frame(c.get(), 1, key, sender, 0x0102030405060708, "some packet bytes",
                           frame);
    CHECK(std::uint8_t(frame[0]) == 0x5b);
    CHECK(frame.substr(2, 8) == std::string("\1\2\3\4\5\6\7\10"));  // big-endian
    CHECK(compress::open(key, sender, frame) == std::optional<std::uint64_t>(0x0102030405060708));
    CHECK_FALSE(compress::open(wrong, sender, frame));
    CHECK_FALSE(compress::open(key, sender + 1, frame));  // another source address
    CHECK_FALSE(compress::open("", sender, frame));
    for (std::size_t i = 0; i < frame.size(); ++i)
        for (int bit = 0; bit < 8; ++bit) {
            std::string flipped = frame;
            flipped[i] = char(flipped[i] ^ (1 << bit));
            CHECK_FALSE(compress::open(key, sender, flipped));
        }
    for (std::size_t n = 0; n < frame.size(); ++n)
        CHECK_FALSE(compress::open(key, sender, frame.substr(0, n)));
    std::string old_format = frame;  // the unauthenticated tunnel's magic, even with a good tag
    old_format[0] = char(0x5a);
    old_format.resize(old_format.size() - compress::kTag);
    compress::seal(key, sender, old_format);
    CHECK_FALSE(compress::open(key, sender, old_format));
}

TEST_CASE("compress frame: the replay window refuses repeats and counters too old, and slides") {
    compress::ReplayWindow w;
    CHECK(w.fresh(1000));
    w.accept(1000);
    CHECK_FALSE(w.fresh(1000));  // replayed
    CHECK(w.fresh(999));         // late but in the window
    w.accept(999);
    CHECK_FALSE(w.fresh(999));
    CHECK(w.fresh(1000 - 63));       // the oldest the window holds
    CHECK_FALSE(w.fresh(1000 - 64)); // too old
    CHECK(w.fresh(1001));
    w.accept(1010);  // slides by 10: 1000 and 999 are still seen
    CHECK_FALSE(w.fresh(1000));
    CHECK_FALSE(w.fresh(999));
    CHECK(w.fresh(1005));
    CHECK(w.fresh(1010 - 63));
    CHECK_FALSE(w.fresh(1010 - 64));
    w.accept(1005);
    CHECK_FALSE(w.fresh(1005));
    w.accept(1010 + 200);  // a jump beyond the window forgets it all but the new highest
    CHECK_FALSE(w.fresh(1210));
    CHECK(w.fresh(1209));
    CHECK_FALSE(w.fresh(1010));
}

TEST_CASE("compress frame: routes by longest prefix; only whole IPv4 packets are read") {
    std::vector<compress::PeerRoute> routes = {*compress::make_route("10.2.0.0/16", "10.77.0.12"),
                                               *compress::make_route("10.2.3.0/24", "10.77.0.13")};
    CHECK(compress::find_route(routes, 0x0a020304)->peer == 0x0a4d000d);
    CHECK(compress::find_route(routes, 0x0a020404)->peer == 0x0a4d000c);
    CHECK(compress::find_route(routes, 0x0a030404) == nullptr);
    CHECK_FALSE(compress::make_route("10.2.0.0/33", "10.77.0.12"));
    CHECK_FALSE(compress::make_route("10.2.0.0/24", "dom0-b"));

    std::string packet(28, '\0');
    packet[0] = 0x45;
    packet[3] = 28;
    packet[12] = 10, packet[13] = 1, packet[14] = 0, packet[15] = 2;
    packet[16] = 10, packet[17] = 2, packet[18] = 0, packet[19] = 2;
    auto a = compress::ipv4_addresses(packet);
    REQUIRE(a);
    CHECK(a->source == 0x0a010002);
    CHECK(a->destination == 0x0a020002);
    CHECK_FALSE(compress::ipv4_addresses(packet.substr(0, 27)));  // shorter than it says
    packet[0] = 0x65;
    CHECK_FALSE(compress::ipv4_addresses(packet));  // IPv6's version
}
