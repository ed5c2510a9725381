#include "reader.h"

#include <algorithm>
#include <initializer_list>
#include <string>
#include <string_view>

#include "netservice_reader.h"
#include "provisioner/placement.h"
#include "values.h"

namespace provisioner::site {
namespace {

constexpr std::uint64_t kMaxVcpus = 4096;
constexpr std::uint64_t kMaxMemoryMib = std::uint64_t{1} << 32;  // 4 PiB

class Reader {
  public:
    Reader(const LineIndex& lines, std::vector<Problem>& problems)
        : lines_(lines), problems_(problems) {}

    std::size_t line(const pugi::xml_node& node) const {
        return lines_.line_of(node.offset_debug());
    }
    void problem(const pugi::xml_node& node, std::string message) {
        problems_.push_back({line(node), std::move(message)});
    }

    // Reports attributes outside `known`.
    void check_attributes(const pugi::xml_node& node,
                          std::initializer_list<std::string_view> known) {
        for (const pugi::xml_attribute& attr : node.attributes()) {
            if (std::find(known.begin(), known.end(), std::string_view(attr.name())) == known.end())
                problem(node, "unknown attribute " + std::string(attr.name()) + " on <" +
                                  node.name() + ">");
        }
    }

    // Reports child text or elements under an element that holds only attributes or text.
    std::string text_of(const pugi::xml_node& node) {
        for (const pugi::xml_node& child : node.children())
            if (child.type() == pugi::node_element)
                problem(child, "<" + std::string(node.name()) + "> holds text, not <" +
                                   child.name() + ">");
        return std::string(trim(node.text().get()));
    }

    void read_root(const pugi::xml_node& root, Site& site) {
        check_attributes(root, {"placement", "cpu-threshold", "memory-threshold"});
        if (auto attr = root.attribute("placement")) {
            site.placement = attr.value();
            const auto& names = placement::placer_names();
            if (std::find(names.begin(), names.end(), site.placement) == names.end())
                problem(root, "unknown placement algorithm \"" + site.placement +
                                  "\" (known: first-fit, round-robin, weighted-round-robin)");
        }
        read_threshold(root, "cpu-threshold", site.cpu_threshold);
        read_threshold(root, "memory-threshold", site.memory_threshold);
        for (const pugi::xml_node& child : root.children()) {
            if (child.type() != pugi::node_element) continue;
            if (std::string_view(child.name()) == "Set")
                read_set(child, site);
            else
                problem(child, "unknown element <" + std::string(child.name()) +
                                   "> in <XSMConfig> (expected <Set>)");
        }
        if (site.sets.empty()) problem(root, "<XSMConfig> has no <Set>");
    }

  private:
    void read_threshold(const pugi::xml_node& root, const char* name, double& out) {
        auto attr = root.attribute(name);
        if (!attr) return;
        auto value = parse_fraction(attr.value());
        if (value)
            out = *value;
        else
            problem(root, std::string(name) + ": " + value.status().message());
    }

    void read_set(const pugi::xml_node& node, Site& site) {
        check_attributes(node, {"name"});
        SiteSet set{node.attribute("name").value(), "", line(node)};
        bool has_owner = false;
        for (const pugi::xml_node& child : node.children()) {
            if (child.type() != pugi::node_element) continue;
            const std::string_view name = child.name();
            if (name == "Owner") {
                if (has_owner) problem(child, "<Set> has a second <Owner>");
                set.owner = text_of(child);
                has_owner = true;
            } else if (name == "VM") {
                read_vm(child, set.name, site);
            } else if (name == "Network") {
                read_network(child, site);
            } else if (name == "Together" || name == "Apart") {
                read_constraint(child, site);
            } else {
                problem(child, "unknown element <" + std::string(name) +
                                   "> in <Set> (expected Owner, VM, Network, Together, Apart)");
            }
        }
        site.sets.push_back(std::move(set));
    }

    void read_network(const pugi::xml_node& node, Site& site) {
        check_attributes(node, {"name", "vlan"});
        text_of(node);
        Network network{node.attribute("name").value(), 0, line(node)};
        if (!valid_name(network.name))
            problem(node, "<Network> needs a name of letters, digits, '.', '_' or '-'");
        if (auto vlan = parse_count(node.attribute("vlan").value(), 1, 4094); vlan)
            network.vlan = static_cast<std::uint16_t>(*vlan);
        else
            problem(node, "network " + network.name + ": vlan " + vlan.status().message());
        site.networks.push_back(std::move(network));
    }

    void read_constraint(const pugi::xml_node& node, Site& site) {
        check_attributes(node, {"vms"});
        text_of(node);
        Constraint constraint;
        constraint.kind = std::string_view(node.name()) == "Together" ? Constraint::Kind::together
                                                                      : Constraint::Kind::apart;
        constraint.vms = split_names(node.attribute("vms").value());
        constraint.line = line(node);
        if (constraint.vms.size() < 2)
            problem(node, "<" + std::string(node.name()) + "> needs at least two VM names in vms");
        site.constraints.push_back(std::move(constraint));
    }

    template <class T>
    void once(const pugi::xml_node& child, bool& seen, const Vm& vm, T&& read) {
        if (seen) problem(child, "VM " + vm.name + " has a second <" + child.name() + ">");
        seen = true;
        read();
    }

    void read_vm(const pugi::xml_node& node, const std::string& set, Site& site) {
        check_attributes(node, {"name", "config"});
        Vm vm;
        vm.name = node.attribute("name").value();
        vm.set = set;
        vm.config = node.attribute("config").value();
        vm.line = line(node);
        if (!valid_name(vm.name))
            problem(node, "<VM> needs a name of letters, digits, '.', '_' or '-' (got \"" +
                              vm.name + "\")");
        Interface primary{"", "", "", 0};
        bool dom0 = false, vcpus = false, mem = false, hwaddr = false, ip = false, image = false;
        for (const pugi::xml_node& child : node.children()) {
            if (child.type() != pugi::node_element) continue;
            const std::string_view name = child.name();
            const auto value = [&](auto parsed, auto&& store) {
                if (parsed)
                    store(*parsed);
                else
                    problem(child, "VM " + vm.name + ": <" + std::string(name) + "> " +
                                       parsed.status().message());
            };
            if (name == "DOM0") {
                once(child, dom0, vm, [&] {
                    vm.dom0 = text_of(child);
                    if (vm.dom0.empty()) problem(child, "VM " + vm.name + ": empty <DOM0>");
                });
            } else if (name == "VCPUS") {
                once(child, vcpus, vm, [&] {
                    value(parse_count(text_of(child), 1, kMaxVcpus),
                          [&](std::uint64_t v) { vm.vcpus = static_cast<std::uint32_t>(v); });
                });
            } else if (name == "MEM") {
                once(child, mem, vm, [&] {
                    value(parse_count(text_of(child), 1, kMaxMemoryMib),
                          [&](std::uint64_t v) { vm.memory_mib = v; });
                });
            } else if (name == "HWADDR") {
                once(child, hwaddr, vm, [&] {
                    primary.line = line(child);
                    value(parse_hwaddr(text_of(child)), [&](std::string v) { primary.hwaddr = v; });
                });
            } else if (name == "IP") {
                once(child, ip, vm, [&] {
                    if (!primary.line) primary.line = line(child);
                    value(parse_ip(text_of(child)), [&](std::string v) { primary.ip = v; });
                });
            } else if (name == "TEMPLATE") {
                once(child, image, vm, [&] { read_template(child, vm); });
            } else if (name == "INTERFACE") {
                read_interface(child, vm);
            } else if (name == "SERVICE") {
                read_service(child, vm);
            } else if (name == "NETSERVICE") {
                read_netservice(child, lines_, vm, problems_);
            } else {
                problem(child, "unknown element <" + std::string(name) + "> in VM " + vm.name +
                                   " (expected DOM0, VCPUS, MEM, HWADDR, IP, TEMPLATE, "
                                   "INTERFACE, SERVICE, NETSERVICE)");
            }
        }
        if (!vcpus) problem(node, "VM " + vm.name + " has no <VCPUS>");
        if (!mem) problem(node, "VM " + vm.name + " has no <MEM> (MiB)");
        if (hwaddr || ip) {
            if (primary.ip.empty()) primary.ip = "dhcp";
            vm.interfaces.insert(vm.interfaces.begin(), primary);
        }
        site.vms.push_back(std::move(vm));
    }

    void read_template(const pugi::xml_node& node, Vm& vm) {
        check_attributes(node, {"label"});
        const std::string text = text_of(node);
        const auto label = node.attribute("label");
        if (label && !text.empty()) {
            problem(node, "VM " + vm.name +
                              ": <TEMPLATE> names a template or has a label "
                              "query, not both");
            return;
        }
        auto ref = label ? parse_template_labels(label.value()) : parse_template_name(text);
        if (ref)
            vm.image = std::move(*ref);
        else
            problem(node, "VM " + vm.name + ": <TEMPLATE> " + ref.status().message());
    }

    void read_interface(const pugi::xml_node& node, Vm& vm) {
        check_attributes(node, {"network", "hwaddr", "ip"});
        text_of(node);
        Interface nic{node.attribute("network").value(), "", "dhcp", line(node)};
        if (auto attr = node.attribute("hwaddr")) {
            if (auto mac = parse_hwaddr(attr.value()); mac)
                nic.hwaddr = *mac;
            else
                problem(node, "VM " + vm.name + ": hwaddr " + mac.status().message());
        }
        if (auto attr = node.attribute("ip")) {
            if (auto ip = parse_ip(attr.value()); ip)
                nic.ip = *ip;
            else
                problem(node, "VM " + vm.name + ": ip " + ip.status().message());
        }
        vm.interfaces.push_back(std::move(nic));
    }

    void read_service(const pugi::xml_node& node, Vm& vm) {
        check_attributes(node, {"package"});
        Service service{node.attribute("package").value(), {}, line(node)};
        if (service.package.empty())
            problem(node, "VM " + vm.name + ": <SERVICE> needs a package attribute");
        for (const pugi::xml_node& child : node.children()) {
            if (child.type() != pugi::node_element) continue;
            if (std::string_view(child.name()) != "PARAM") {
                problem(child, "unknown element <" + std::string(child.name()) +
                                   "> in <SERVICE> (expected PARAM)");
                continue;
            }
            check_attributes(child, {"name"});
            std::string name = child.attribute("name").value();
            if (name.empty()) problem(child, "VM " + vm.name + ": <PARAM> needs a name");
            service.parameters.emplace_back(std::move(name), text_of(child));
        }
        vm.services.push_back(std::move(service));
    }

    const LineIndex& lines_;
    std::vector<Problem>& problems_;
};

}  // namespace

void read_site(const pugi::xml_document& doc, const LineIndex& lines, Site& site,
               std::vector<Problem>& problems) {
    Reader reader(lines, problems);
    const pugi::xml_node root = doc.document_element();
    if (!root) {
        problems.push_back({1, "the file holds no XML element (expected <XSMConfig>)"});
        return;
    }
    if (std::string_view(root.name()) != "XSMConfig") {
        reader.problem(
            root, "the root element is <" + std::string(root.name()) + ">, expected <XSMConfig>");
        return;
    }
    reader.read_root(root, site);
}

}  // namespace provisioner::site
