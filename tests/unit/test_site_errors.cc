// The site file's bad inputs: each is reported with its line, and every problem in a file is
// reported, not only the first.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "provisioner/site.h"

using namespace provisioner::site;

namespace {

// "line: message" for each problem.
std::vector<std::string> problems(const std::string& xml) {
    std::vector<std::string> out;
    for (const Problem& p : parse_site(xml).problems)
        out.push_back(std::to_string(p.line) + ": " + p.message);
    return out;
}

bool has_error_at(const std::vector<std::string>& all, const std::string& line_and_start) {
    for (const std::string& p : all)
        if (p.rfind(line_and_start, 0) == 0) return true;
    return false;
}

std::string joined(const std::vector<std::string>& all) {
    std::string text;
    for (const std::string& p : all) text += p + "\n";
    return text;
}

// A VM element on one line.
std::string vm_entry(const std::string& name, const std::string& body = "") {
    return "<VM name=\"" + name + "\"><VCPUS>1</VCPUS><MEM>256</MEM>" + body + "</VM>\n";
}

}  // namespace

TEST_CASE("site: malformed XML is reported at its line") {
    const auto p =
        problems("<XSMConfig>\n<Set name=\"s\">\n<VM name=\"a\">\n</Set>\n</XSMConfig>\n");
    REQUIRE(p.size() == 1);
    CHECK_MESSAGE(p[0].rfind("4: malformed XML: ", 0) == 0, p[0]);

    const auto unterminated = problems("<XSMConfig>\n<Set name=\"s\">\n<VM name=\"a\n");
    REQUIRE(unterminated.size() == 1);
    CHECK(unterminated[0].find("malformed XML") != std::string::npos);

    CHECK(problems("") == std::vector<std::string>{"1: malformed XML: No document element found"});
    CHECK(problems("<Site/>\n") ==
          std::vector<std::string>{"1: the root element is <Site>, expected <XSMConfig>"});
}

TEST_CASE("site: duplicate VM names, MACs and IPs name both lines") {
    const std::string xml =
        "<XSMConfig>\n<Set name=\"s\">\n" +
        vm_entry("a", "<HWADDR>AA:00:00:00:00:01</HWADDR><IP>10.0.0.1</IP>") +     // 3
        vm_entry("b", "<HWADDR>aa-00-00-00-00-01</HWADDR><IP>10.0.0.1/24</IP>") +  // 4
        vm_entry("a") +                                                            // 5
        vm_entry("c", "<IP>DHCP</IP>") + vm_entry("d", "<IP>dhcp</IP>") +  // DHCP twice is fine
        "</Set>\n</XSMConfig>\n";
    const auto p = problems(xml);
    CHECK_MESSAGE(p.size() == 3, joined(p));
    CHECK(has_error_at(p, "4: duplicate MAC \"aa:00:00:00:00:01\" (first at line 3)"));
    CHECK(has_error_at(p, "4: duplicate IP \"10.0.0.1\" (first at line 3)"));
    CHECK(has_error_at(p, "5: duplicate VM name \"a\" (first at line 3)"));
}

TEST_CASE("site: bad numbers, MACs, IPs and names") {
    const std::string xml =
        "<XSMConfig cpu-threshold=\"1.5\" placement=\"best-fit\">\n"  // 1
        "<Set name=\"s\">\n"                                          // 2
        "<VM name=\"a\"><VCPUS>four</VCPUS><MEM>96</MEM></VM>\n"      // 3
        "<VM name=\"b\"><VCPUS>4.5</VCPUS><MEM>-1</MEM></VM>\n"       // 4
        "<VM name=\"c\"><VCPUS>0</VCPUS><MEM>99999999999999999999</MEM></VM>\n"
        "<VM name=\"d\"><VCPUS>1</VCPUS><MEM>64</MEM>\n"         // 6
        "<HWADDR>AA:00:00:00:00</HWADDR>\n"                      // 7
        "<IP>10.0.0.300</IP>\n"                                  // 8
        "</VM>\n"                                                // 9
        "<VM name=\"e f\"><VCPUS>1</VCPUS><MEM>64</MEM></VM>\n"  // 10
        "<Network name=\"n\" vlan=\"4095\"/>\n"                  // 11
        "<VM name=\"g\"><VCPUS>1</VCPUS><MEM>64</MEM><HWADDR>01:00:5e:00:00:01</HWADDR></VM>\n"
        "</Set>\n</XSMConfig>\n";
    const auto p = problems(xml);
    CHECK(has_error_at(p, "1: cpu-threshold: \"1.5\" is not a fraction"));
    CHECK(has_error_at(p, "1: unknown placement algorithm \"best-fit\""));
    CHECK(has_error_at(
        p, "3: VM a: <VCPUS> \"four\" is not a number (expected a whole number from 1 to 4096)"));
    CHECK(has_error_at(p, "4: VM b: <VCPUS> \"4.5\" is not a number"));
    CHECK(has_error_at(p, "4: VM b: <MEM> \"-1\" is not a number"));
    CHECK(has_error_at(p, "5: VM c: <VCPUS> \"0\" is out of range"));
    CHECK(has_error_at(p, "5: VM c: <MEM> \"99999999999999999999\" is out of range"));
    CHECK(has_error_at(p, "7: VM d: <HWADDR> \"AA:00:00:00:00\" is not a usable MAC address"));
    CHECK(has_error_at(p, "8: VM d: <IP> \"10.0.0.300\" is neither DHCP nor an IPv4 address"));
    CHECK(has_error_at(p, "10: <VM> needs a name"));
    CHECK(has_error_at(p, "11: network n: vlan \"4095\" is out of range"));
    CHECK(has_error_at(p, "12: VM g: <HWADDR> \"01:00:5e:00:00:01\" is not a usable MAC address"));
    CHECK_MESSAGE(p.size() == 12, joined(p));
}

TEST_CASE("site: unknown, repeated and missing elements and attributes") {
    const std::string xml =
        "<XSMConfig>\n"
        "<Set name=\"s\" owner=\"x\">\n"                // 2
        "<VM name=\"a\"><VCPU>1</VCPU><MEM>64</MEM>\n"  // 3
        "<MEM>128</MEM>\n"                              // 4
        "</VM>\n"                                       // 5
        "<Host/>\n"                                     // 6
        "<VM name=\"b\"><VCPUS>1</VCPUS><MEM>64</MEM>"
        "<TEMPLATE label=\"x\">debian</TEMPLATE></VM>\n"  // 7
        "<VM name=\"c\"><VCPUS>1</VCPUS><MEM>64</MEM>"
        "<TEMPLATE>debian@</TEMPLATE><SERVICE/></VM>\n"  // 8
        "</Set>\n</XSMConfig>\n";
    const auto p = problems(xml);
    CHECK(has_error_at(p, "2: unknown attribute owner on <Set>"));
    CHECK(has_error_at(p, "3: unknown element <VCPU> in VM a"));
    CHECK(has_error_at(p, "3: VM a has no <VCPUS>"));
    CHECK(has_error_at(p, "4: VM a has a second <MEM>"));
    CHECK(has_error_at(p, "6: unknown element <Host> in <Set>"));
    CHECK(has_error_at(p, "7: VM b: <TEMPLATE> names a template or has a label query, not both"));
    CHECK(has_error_at(p, "8: VM c: <TEMPLATE> \"debian@\" is not a template reference"));
    CHECK(has_error_at(p, "8: VM c: <SERVICE> needs a package attribute"));
    CHECK_MESSAGE(p.size() == 8, joined(p));
}

TEST_CASE("site: interfaces on networks the file does not define") {
    const std::string xml =
        "<XSMConfig>\n<Set name=\"s\">\n"
        "<Network name=\"front\" vlan=\"10\"/>\n"                          // 3
        "<Network name=\"back\" vlan=\"10\"/>\n"                           // 4
        "<Network name=\"front\" vlan=\"30\"/>\n"                          // 5
        "<VM name=\"a\"><VCPUS>1</VCPUS><MEM>64</MEM>\n"                   // 6
        "<INTERFACE network=\"front\"/>\n"                                 // 7
        "<INTERFACE network=\"storage\" hwaddr=\"AA:00:00:00:00:09\"/>\n"  // 8
        "</VM>\n</Set>\n</XSMConfig>\n";
    const auto p = problems(xml);
    CHECK(has_error_at(p, "4: duplicate VLAN \"10\" (first at line 3)"));
    CHECK(has_error_at(p, "5: duplicate network name \"front\" (first at line 3)"));
    CHECK(has_error_at(p, "8: VM a: unknown network \"storage\""));
    CHECK_MESSAGE(p.size() == 3, joined(p));
}

TEST_CASE("site: contradictory constraints") {
    const std::string xml = "<XSMConfig>\n<Set name=\"s\">\n" + vm_entry("a") +  // 3
                            vm_entry("b") +                                      // 4
                            vm_entry("c") +                                      // 5
                            vm_entry("p", "<DOM0>10.0.0.1</DOM0>") +             // 6
                            vm_entry("q", "<DOM0>10.0.0.2</DOM0>") +             // 7
                            vm_entry("r", "<DOM0>10.0.0.1</DOM0>") +             // 8
                            "<Together vms=\"a b\"/>\n"                          // 9
                            "<Together vms=\"b c\"/>\n"                          // 10
                            "<Apart vms=\"a c\"/>\n"                             // 11
                            "<Together vms=\"p q\"/>\n"                          // 12
                            "<Apart vms=\"p r\"/>\n"                             // 13
                            "<Apart vms=\"a zz a\"/>\n"                          // 14
                            "<Together vms=\"a\"/>\n"                            // 15
                            "</Set>\n</XSMConfig>\n";
    const auto p = problems(xml);
    CHECK(has_error_at(
        p,
        "7: contradictory constraints: VM q is pinned to 10.0.0.2 but must be together "
        "with p, pinned to 10.0.0.1 (line 6; together at line 12)"));
    CHECK(has_error_at(p,
                       "11: contradictory constraints: a and c must be apart here but together at "
                       "lines 9, 10"));
    CHECK(
        has_error_at(p,
                     "13: contradictory constraints: p and r must be apart but are both pinned to "
                     "10.0.0.1"));
    CHECK(has_error_at(p, "14: VM a is named twice in one constraint"));
    CHECK(has_error_at(p, "14: constraint names unknown VM \"zz\""));
    CHECK(has_error_at(p, "15: <Together> needs at least two VM names in vms"));
    CHECK_MESSAGE(p.size() == 6, joined(p));
}

TEST_CASE("site: problems come in line order, with the source name in the summary") {
    const std::string xml =
        "<XSMConfig>\n<Set name=\"s\">\n" + vm_entry("a") + vm_entry("a") +
        "<VM name=\"b\"><VCPUS>x</VCPUS><MEM>1</MEM></VM>\n</Set>\n</XSMConfig>\n";
    const ParsedSite parsed = parse_site(xml);
    CHECK(
        parsed.summary("site.xml") ==
        "site.xml:4: duplicate VM name \"a\" (first at line 3)\n"
        "site.xml:5: VM b: <VCPUS> \"x\" is not a number (expected a whole number from 1 to 4096)");
}

TEST_CASE("site: bad template references") {
    const std::string xml = "<XSMConfig>\n<Set name=\"s\">\n" +
                            vm_entry("a", "<TEMPLATE label=\"web !\"/>") +                   // 3
                            vm_entry("b", "<TEMPLATE label=\" , \"/>") +                     // 4
                            vm_entry("c", "<TEMPLATE>deb ian</TEMPLATE>") +                  // 5
                            vm_entry("d", "<TEMPLATE>x</TEMPLATE><TEMPLATE>y</TEMPLATE>") +  // 6
                            vm_entry("e", "<TEMPLATE label=\"os:debian web\"/>") +           // fine
                            "</Set>\n</XSMConfig>\n";
    const auto p = problems(xml);
    CHECK(has_error_at(p, "3: VM a: <TEMPLATE> \"!\" is not a label"));
    CHECK(has_error_at(p, "4: VM b: <TEMPLATE> a label query needs at least one label"));
    CHECK(has_error_at(p, "5: VM c: <TEMPLATE> \"deb ian\" is not a template reference"));
    CHECK(has_error_at(p, "6: VM d has a second <TEMPLATE>"));
    CHECK_MESSAGE(p.size() == 4, joined(p));
}

TEST_CASE("site errors: a document nested far deeper than a site file, or too large, is refused") {
    std::string deep = "<XSMConfig>";
    for (int i = 0; i < 100000; ++i) deep += "<a>";
    for (int i = 0; i < 100000; ++i) deep += "</a>";
    deep += "</XSMConfig>";
    auto parsed = provisioner::site::parse_site(deep);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.summary().find("nested deeper than 32 levels") != std::string::npos);
    auto huge = provisioner::site::parse_site(std::string(17 << 20, ' '));
    REQUIRE_FALSE(huge.ok());
    CHECK(huge.summary() == "site:1: the site file is larger than 16 MiB");
}
