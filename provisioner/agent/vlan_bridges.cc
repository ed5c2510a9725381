#include "provisioner/agent/vlan_bridges.h"

#include <nlohmann/json.hpp>

namespace provisioner::agent {
namespace {

using json = nlohmann::json;

std::string joined(const std::vector<std::string>& argv) {
    return vmhost::command_line(argv);
}

// What `ip -details -json link show dev NAME` says of a device: its kind ("vlan", "bridge",
// "" for a plain NIC), a VLAN's id and parent, and the bridge it is a port of.
struct Device {
    std::string kind;
    std::int64_t vlan_id = -1;
    std::string parent;
    std::string master;
};

Result<Device> parse_device(const std::string& out, const std::string& name) {
    json j = json::parse(out, nullptr, false);
    if (!j.is_array() || j.empty() || !j[0].is_object())
        return Status::error("ip link show dev " + name + ": unexpected output: " + out);
    const json& d = j[0];
    Device device;
    device.parent = d.value("link", "");
    device.master = d.value("master", "");
    if (auto info = d.find("linkinfo"); info != d.end() && info->is_object()) {
        device.kind = info->value("info_kind", "");
        if (auto data = info->find("info_data"); data != info->end() && data->is_object())
            device.vlan_id = data->value("id", std::int64_t(-1));
    }
    return device;
}

}  // namespace

std::string vlan_bridge_name(std::uint16_t vid) {
    return "pvbr" + std::to_string(vid);
}

std::string vlan_port_name(std::uint16_t vid) {
    return "pvvl" + std::to_string(vid);
}

VlanBridges::VlanBridges(std::string trunk, vmhost::ProcessRunner& ip, bool user_space)
    : trunk_(std::move(trunk)), ip_(ip), user_space_(user_space) {}

VlanBridges::~VlanBridges() = default;

Status VlanBridges::add_user_space_port(std::uint16_t vid) {
    if (!user_trunk_) {
        auto opened = VlanTrunk::open(trunk_);
        if (!opened) return opened.status();
        user_trunk_ = std::move(*opened);
    }
    return user_trunk_->add_port(vid, vlan_port_name(vid));
}

std::vector<std::string> VlanBridges::restore() {
    auto out = run({"ip", "-json", "link", "show", "type", "bridge"});
    if (!out) return {out.status().message()};
    json links = json::parse(*out, nullptr, false);
    if (!links.is_array()) return {"ip link show type bridge: unexpected output: " + *out};
    std::vector<std::string> problems;
    for (const json& link : links) {
        const std::string name = link.is_object() ? link.value("ifname", "") : "";
        if (name.size() < 5 || name.size() > 8 || name.rfind("pvbr", 0) != 0) continue;
        if (name.find_first_not_of("0123456789", 4) != std::string::npos) continue;
        const unsigned long vid = std::stoul(name.substr(4));
        // "pvbr010" or "pvbr5000" is not a name of ours.
        if (vid == 0 || vid > 4094 || vlan_bridge_name(std::uint16_t(vid)) != name) continue;
        if (auto made = ensure(std::uint16_t(vid)); !made)
            problems.push_back("VLAN " + std::to_string(vid) + ": " + made.status().message());
    }
    return problems;
}

Result<bool> VlanBridges::release(std::uint16_t vid) {
    if (vid == 0 || vid > 4094)
        return Status::error(Code::invalid_argument,
                             "VLAN " + std::to_string(vid) + ": the id must be 1..4094");
    const std::string bridge = vlan_bridge_name(vid), port = vlan_port_name(vid);
    auto out = run({"ip", "-json", "link", "show", "master", bridge});
    if (!out) {
        if (out.status().code() == Code::not_found) return false;
        return out.status();
    }
    json ports = json::parse(*out, nullptr, false);
    if (!ports.is_array())
        return Status::error("ip link show master " + bridge + ": unexpected output: " + *out);
    for (const json& p : ports)
        if (!p.is_object() || p.value("ifname", "") != port) return false;
    if (user_trunk_ && user_trunk_->has_port(vid)) {
        user_trunk_->remove_port(vid);
    } else if (auto gone = run({"ip", "link", "del", "dev", port});
               !gone && gone.status().code() != Code::not_found) {
        return gone.status();
    }
    if (auto gone = run({"ip", "link", "del", "dev", bridge});
        !gone && gone.status().code() != Code::not_found)
        return gone.status();
    return true;
}

Result<std::string> VlanBridges::run(const std::vector<std::string>& argv) {
    auto ran = ip_.run(argv);
    if (!ran) return ran.status();
    if (ran->exit_code != 0) {
        std::string err = ran->err;
        while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
        const std::string what = joined(argv) + ": " + err;
        if (err.find("does not exist") != std::string::npos ||
            err.find("Cannot find device") != std::string::npos)
            return Status::error(Code::not_found, what);
        if (err.find("Unknown device type") != std::string::npos)
            return Status::error(what +
                                 " (this kernel has no 802.1Q VLANs: CONFIG_VLAN_8021Q, "
                                 "module 8021q)");
        return Status::error(what);
    }
    return ran->out;
}

Result<std::string> VlanBridges::ensure(std::uint16_t vid) {
    if (vid == 0 || vid > 4094)
        return Status::error(Code::invalid_argument,
                             "VLAN " + std::to_string(vid) + ": the id must be 1..4094");
    const std::string bridge = vlan_bridge_name(vid), port = vlan_port_name(vid);
    auto show = [&](const std::string& name) -> Result<Device> {
        auto out = run({"ip", "-details", "-json", "link", "show", "dev", name});
        if (!out) return out.status();
        return parse_device(*out, name);
    };
    const std::string id = std::to_string(vid);
    auto found_port = show(port);
    if (!found_port && found_port.status().code() != Code::not_found) return found_port.status();
    if (!found_port) {
        if (auto trunk = show(trunk_); !trunk)
            return Status::error(trunk.status().code(),
                                 "the VLAN trunk " + trunk_ + ": " + trunk.status().message());
        auto made =
            run({"ip", "link", "add", "link", trunk_, "name", port, "type", "vlan", "id", id});
        const bool no_8021q =
            !made && made.status().message().find("CONFIG_VLAN_8021Q") != std::string::npos;
        if (no_8021q && user_space_) {
            if (Status s = add_user_space_port(vid); !s)
                return s.context("VLAN " + id + " in user space (the kernel has no 802.1Q)");
        } else if (!made) {
            return made.status();
        }
    } else if (found_port->kind == "tun") {
        if (!user_trunk_ || !user_trunk_->has_port(vid))
            return Status::error(Code::conflict,
                                 port + " exists but is a TAP device this agent does not serve");
    } else if (found_port->kind != "vlan" || found_port->vlan_id != vid ||
               found_port->parent != trunk_) {
        return Status::error(Code::conflict, port + " exists but is not VLAN " + id + " of " +
                                                 trunk_ + " (kind '" + found_port->kind + "', id " +
                                                 std::to_string(found_port->vlan_id) + ", on '" +
                                                 found_port->parent + "')");
    }
    auto found_bridge = show(bridge);
    if (!found_bridge && found_bridge.status().code() != Code::not_found)
        return found_bridge.status();
    if (!found_bridge) {
        if (auto made = run({"ip", "link", "add", "name", bridge, "type", "bridge"}); !made)
            return made.status();
    } else if (found_bridge->kind != "bridge") {
        return Status::error(Code::conflict, bridge + " exists but is not a bridge (kind '" +
                                                 found_bridge->kind + "')");
    }
    if (!found_port || found_port->master != bridge)
        if (auto joined_bridge = run({"ip", "link", "set", "dev", port, "master", bridge});
            !joined_bridge)
            return joined_bridge.status();
    for (const std::string& name : {port, bridge})
        if (auto up = run({"ip", "link", "set", "dev", name, "up"}); !up) return up.status();
    return bridge;
}

}  // namespace provisioner::agent
