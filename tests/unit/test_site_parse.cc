// The site file: XSM's Figure 3 read as it is, and the extensions (SITE_FILE.md's example).
#include <doctest/doctest.h>

#include <string>

#include "provisioner/site.h"

using namespace provisioner;
using namespace provisioner::site;

namespace {

// XSM (Euro-Par 2007), Figure 3, verbatim.
const char* kFigure3 = R"(<XSMConfig>
<Set name="My_site">
<Owner>root@domain.com</Owner>
<VM name="vm1" config="apache_svr">
<DOM0>192.168.5.101</DOM0>
<VCPUS>4</VCPUS>
<HWADDR>AA:00:00:00:00:01</HWADDR>
<IP>DHCP</IP>
<MEM>96</MEM>

</VM>
<VM name="vm2" config="apache_svr">
<DOM0>192.168.5.102</DOM0>
<VCPUS>4</VCPUS>
<HWADDR>AA:00:00:00:00:02</HWADDR>
<IP>DHCP</IP>
<MEM>96</MEM>

</VM>
<VM name="vm3" config="apache_svr">
<DOM0>192.168.5.103</DOM0>
<VCPUS>4</VCPUS>
<HWADDR>AA:00:00:00:00:03</HWADDR>
<IP>DHCP</IP>
<MEM>96</MEM>

</VM>
<VM name="vm4" config="mysql_svr">
<DOM0>192.168.5.104</DOM0>
<VCPUS>4</VCPUS>
<HWADDR>AA:00:00:00:00:04</HWADDR>
<IP>DHCP</IP>
<MEM>96</MEM>

</VM>
</Set>
</XSMConfig>
)";

// SITE_FILE.md's example.
const char* kExample =
    R"(<XSMConfig placement="first-fit" cpu-threshold="0.75" memory-threshold="0.8">
  <Set name="shop">
    <Owner>ops@example.com</Owner>
    <Network name="front" vlan="10"/>
    <Network name="back" vlan="20"/>

    <VM name="web1" config="apache_svr">
      <VCPUS>2</VCPUS>
      <MEM>2048</MEM>
      <HWADDR>AA:00:00:00:01:01</HWADDR>
      <IP>DHCP</IP>
      <TEMPLATE>debian-web@3</TEMPLATE>
      <INTERFACE network="front" hwaddr="AA:00:00:00:10:01" ip="10.0.10.11/24"/>
      <INTERFACE network="back"/>
      <SERVICE package="nginx">
        <PARAM name="port">8080</PARAM>
        <PARAM name="workers">4</PARAM>
      </SERVICE>
    </VM>
    <VM name="web2">
      <VCPUS>2</VCPUS>
      <MEM>2048</MEM>
      <TEMPLATE>debian-web</TEMPLATE>
      <INTERFACE network="front" ip="10.0.10.12/24"/>
    </VM>
    <VM name="cache1">
      <VCPUS>1</VCPUS>
      <MEM>1024</MEM>
      <TEMPLATE label="redis,debian"/>
      <INTERFACE network="back" ip="10.0.20.21"/>
    </VM>
    <VM name="db1">
      <DOM0>192.168.5.101</DOM0>
      <VCPUS>4</VCPUS>
      <MEM>8192</MEM>
      <TEMPLATE label="mysql"/>
      <INTERFACE network="back" hwaddr="AA:00:00:00:20:01" ip="10.0.20.31"/>
      <SERVICE package="mysql-server"/>
    </VM>

    <Together vms="web1 cache1"/>
    <Apart vms="web1 web2"/>
  </Set>
</XSMConfig>
)";

}  // namespace

TEST_CASE("site: XSM's Figure 3 file parses as it is") {
    const ParsedSite parsed = parse_site(kFigure3);
    REQUIRE_MESSAGE(parsed.ok(), parsed.summary());
    const Site& site = parsed.site;
    REQUIRE(site.sets.size() == 1);
    CHECK(site.sets[0].name == "My_site");
    CHECK(site.sets[0].owner == "root@domain.com");
    CHECK(site.placement.empty());
    REQUIRE(site.vms.size() == 4);
    for (int i = 0; i < 4; ++i) {
        const Vm& vm = site.vms[i];
        CAPTURE(i);
        CHECK(vm.name == "vm" + std::to_string(i + 1));
        CHECK(vm.set == "My_site");
        CHECK(vm.config == (i == 3 ? "mysql_svr" : "apache_svr"));
        CHECK(vm.dom0 == "192.168.5.10" + std::to_string(i + 1));
        CHECK(vm.vcpus == 4);
        CHECK(vm.memory_mib == 96);
        CHECK(vm.image.kind == TemplateRef::Kind::none);
        REQUIRE(vm.interfaces.size() == 1);
        CHECK(vm.interfaces[0].network.empty());
        CHECK(vm.interfaces[0].hwaddr == "aa:00:00:00:00:0" + std::to_string(i + 1));
        CHECK(vm.interfaces[0].ip == "dhcp");
        CHECK(vm.line == 4 + 8 * static_cast<std::size_t>(i));
    }
    CHECK(site.find_vm("vm3") == &site.vms[2]);
    CHECK(site.find_vm("vm5") == nullptr);
}

TEST_CASE("site: the extensions of SITE_FILE.md's example") {
    const ParsedSite parsed = parse_site(kExample);
    REQUIRE_MESSAGE(parsed.ok(), parsed.summary());
    const Site& site = parsed.site;
    CHECK(site.placement == "first-fit");
    CHECK(site.cpu_threshold == doctest::Approx(0.75));
    CHECK(site.memory_threshold == doctest::Approx(0.8));
    REQUIRE(site.networks.size() == 2);
    CHECK(site.networks[0].name == "front");
    CHECK(site.networks[0].vlan == 10);
    CHECK(site.networks[1].vlan == 20);

    REQUIRE(site.vms.size() == 4);
    const Vm& web1 = site.vms[0];
    CHECK(web1.dom0.empty());
    CHECK(web1.image.kind == TemplateRef::Kind::name);
    CHECK(web1.image.name == "debian-web");
    CHECK(web1.image.version == "3");
    CHECK(web1.image.str() == "debian-web@3");
    REQUIRE(web1.interfaces.size() == 3);
    CHECK(web1.interfaces[0].hwaddr == "aa:00:00:00:01:01");
    CHECK(web1.interfaces[1].network == "front");
    CHECK(web1.interfaces[1].ip == "10.0.10.11/24");
    CHECK(web1.interfaces[2].network == "back");
    CHECK(web1.interfaces[2].hwaddr.empty());
    CHECK(web1.interfaces[2].ip == "dhcp");
    REQUIRE(web1.services.size() == 1);
    CHECK(web1.services[0].package == "nginx");
    REQUIRE(web1.services[0].parameters.size() == 2);
    CHECK(web1.services[0].parameters[0] == std::pair<std::string, std::string>{"port", "8080"});
    CHECK(web1.services[0].parameters[1].first == "workers");

    CHECK(site.vms[1].image.str() == "debian-web");
    CHECK(site.vms[1].image.version.empty());
    CHECK(site.vms[2].image.kind == TemplateRef::Kind::labels);
    CHECK(site.vms[2].image.labels == std::vector<std::string>{"debian", "redis"});
    CHECK(site.vms[2].image.str() == "label=debian,redis");
    CHECK(site.vms[3].dom0 == "192.168.5.101");
    CHECK(site.vms[3].services[0].package == "mysql-server");

    REQUIRE(site.constraints.size() == 2);
    CHECK(site.constraints[0].kind == Constraint::Kind::together);
    CHECK(site.constraints[0].vms == std::vector<std::string>{"web1", "cache1"});
    CHECK(site.constraints[1].kind == Constraint::Kind::apart);
    CHECK(site.constraints[1].line == 42);
}

TEST_CASE("site: load_site returns the site or one line per problem") {
    auto good = load_site(kFigure3, "fig3.xml");
    REQUIRE(good.is_ok());
    CHECK(good->vms.size() == 4);

    auto bad = load_site("<XSMConfig>\n<Set>\n<VM name=\"a\"/>\n</Set>\n</XSMConfig>\n", "s.xml");
    REQUIRE_FALSE(bad.is_ok());
    CHECK(bad.status().code() == Code::invalid_argument);
    CHECK(bad.status().message() ==
          "s.xml:3: VM a has no <VCPUS>\ns.xml:3: VM a has no <MEM> (MiB)");

    auto missing = load_site_file("/nonexistent/site.xml");
    CHECK(missing.status().code() == Code::not_found);
}

TEST_CASE("site: a VM without DOM0 is left to placement; several sets share one namespace") {
    const ParsedSite parsed = parse_site(R"(<XSMConfig placement="weighted-round-robin">
<Set name="a"><VM name="x"><VCPUS>1</VCPUS><MEM>64</MEM></VM></Set>
<Set name="b"><VM name="y"><VCPUS>2</VCPUS><MEM>128</MEM></VM>
<Together vms="x,y"/></Set>
</XSMConfig>)");
    REQUIRE_MESSAGE(parsed.ok(), parsed.summary());
    CHECK(parsed.site.placement == "weighted-round-robin");
    REQUIRE(parsed.site.vms.size() == 2);
    CHECK(parsed.site.vms[0].dom0.empty());
    CHECK(parsed.site.vms[0].interfaces.empty());
    CHECK(parsed.site.vms[1].set == "b");
    CHECK(parsed.site.constraints[0].vms == std::vector<std::string>{"x", "y"});
}
