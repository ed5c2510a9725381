// <NETSERVICE> in the site file (SITE_FILE.md "Network services"): the three kinds read,
// and each mistake reported with its line.
#include <doctest/doctest.h>

#include <string>

#include "provisioner/site.h"

using namespace provisioner;
using namespace provisioner::site;

namespace {

std::string vm_with(const std::string& inner) {
    return "<XSMConfig><Set name=\"s\">\n<VM name=\"vm1\">\n<VCPUS>1</VCPUS><MEM>64</MEM>\n" +
           inner + "\n</VM></Set></XSMConfig>";
}

}  // namespace

TEST_CASE("site netservices: compress, rate-limit and filter are read") {
    ParsedSite p = parse_site(
        vm_with(R"(<NETSERVICE type="compress" peer="10.77.0.12" to="10.2.0.0/24, 10.3.0.5"/>
<NETSERVICE type="rate-limit" egress="100mbit" ingress="1.5gbit"/>
<NETSERVICE type="filter">
  <ALLOW proto="tcp" port="22" from="10.0.0.0/8"/>
  <ALLOW proto="udp" port="53"/>
  <ALLOW proto="icmp"/>
</NETSERVICE>)"));
    REQUIRE_MESSAGE(p.ok(), p.summary());
    const Vm& vm = p.site.vms.at(0);
    REQUIRE(vm.netservices.size() == 3);
    CHECK(vm.netservices[0].kind == NetService::Kind::compress);
    CHECK(vm.netservices[0].peer == "10.77.0.12");
    CHECK(vm.netservices[0].to == std::vector<std::string>{"10.2.0.0/24", "10.3.0.5"});
    CHECK(vm.netservices[0].line == 4);
    CHECK(vm.netservices[1].kind == NetService::Kind::rate_limit);
    CHECK(vm.netservices[1].egress_bps == 100'000'000);
    CHECK(vm.netservices[1].ingress_bps == 1'500'000'000);
    CHECK(vm.netservices[2].kind == NetService::Kind::filter);
    REQUIRE(vm.netservices[2].allow.size() == 3);
    CHECK(vm.netservices[2].allow[0].proto == "tcp");
    CHECK(vm.netservices[2].allow[0].port == 22);
    CHECK(vm.netservices[2].allow[0].from == "10.0.0.0/8");
    CHECK(vm.netservices[2].allow[1].port == 53);
    CHECK(vm.netservices[2].allow[2].proto == "icmp");
    CHECK(vm.netservices[2].allow[2].line == 9);
}

TEST_CASE("site netservices: an empty filter lets nothing in; egress alone is a rate limit") {
    ParsedSite p = parse_site(vm_with(R"(<NETSERVICE type="filter"/>
<NETSERVICE type="rate-limit" egress="512kbit"/>)"));
    REQUIRE_MESSAGE(p.ok(), p.summary());
    CHECK(p.site.vms[0].netservices[0].allow.empty());
    CHECK(p.site.vms[0].netservices[1].egress_bps == 512'000);
    CHECK(p.site.vms[0].netservices[1].ingress_bps == 0);
}

TEST_CASE("site netservices: every mistake is reported with its line") {
    ParsedSite p =
        parse_site(vm_with(R"(<NETSERVICE type="compres" peer="10.0.0.1" to="10.1.0.0/16"/>
<NETSERVICE type="compress" peer="dom0-b" to="10.1.0.0/33"/>
<NETSERVICE type="rate-limit" egress="100mbps" ingress="1kbit"/>
<NETSERVICE type="rate-limit"/>
<NETSERVICE type="filter" mode="drop">
  <ALLOW proto="sctp" port="70000"/>
  <ALLOW proto="icmp" port="8"/>
  <DENY proto="tcp"/>
</NETSERVICE>
<NETSERVICE type="compress" peer="10.0.0.2" to="10.2.0.0/16"/>)"));
    const std::string s = p.summary("site.xml");
    CHECK(s.find("site.xml:4: VM vm1: <NETSERVICE> type \"compres\" is unknown") !=
          std::string::npos);
    CHECK(s.find("site.xml:5: VM vm1: compress: peer \"dom0-b\" is not an IPv4 address") !=
          std::string::npos);
    CHECK(s.find("site.xml:5: VM vm1: compress: to \"10.1.0.0/33\": bad prefix length") !=
          std::string::npos);
    CHECK(s.find("site.xml:6: VM vm1: rate-limit: egress \"100mbps\": unknown unit \"mbps\"") !=
          std::string::npos);
    CHECK(s.find("site.xml:6: VM vm1: rate-limit: ingress \"1kbit\" is out of range") !=
          std::string::npos);
    CHECK(s.find("site.xml:7: VM vm1: rate-limit needs egress=") != std::string::npos);
    CHECK(s.find("site.xml:8: VM vm1: unknown attribute mode on <NETSERVICE>") !=
          std::string::npos);
    CHECK(s.find("site.xml:9: VM vm1: <ALLOW> proto \"sctp\"") != std::string::npos);
    CHECK(s.find("site.xml:9: VM vm1: <ALLOW> port \"70000\" is out of range") !=
          std::string::npos);
    CHECK(s.find("site.xml:10: VM vm1: <ALLOW proto=\"icmp\"> takes no port") != std::string::npos);
    CHECK(s.find("site.xml:11: VM vm1: unknown element <DENY>") != std::string::npos);
    CHECK(
        s.find("site.xml:13: VM vm1: a second <NETSERVICE type=\"compress\"> (first at line 5)") !=
        std::string::npos);
}
