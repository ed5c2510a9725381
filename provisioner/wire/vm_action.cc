#include "provisioner/wire/vm_action.h"

#include <algorithm>

#include "reader.h"

namespace provisioner::wire {

using detail::Need;
using detail::Reader;
using nlohmann::json;

namespace {

constexpr VmAction::Kind kKinds[] = {VmAction::Kind::create,      VmAction::Kind::remove,
                                     VmAction::Kind::reconfigure, VmAction::Kind::migrate,
                                     VmAction::Kind::move_send,   VmAction::Kind::move_receive,
                                     VmAction::Kind::move_finish, VmAction::Kind::move_abort};

void read_interface(Reader nic, VmInterface& out) {
    nic.nonempty_string("mac", out.mac, Need::required);
    nic.string("network", out.network, Need::optional);
    nic.string("bridge", out.bridge, Need::optional);
    std::uint64_t vlan = 0;
    nic.unsigned_integer("vlan", vlan, Need::optional, 4094);
    out.vlan = std::uint16_t(vlan);
}

}  // namespace

const char* to_string(VmAction::Kind kind) {
    switch (kind) {
        case VmAction::Kind::create:
            return "create";
        case VmAction::Kind::remove:
            return "remove";
        case VmAction::Kind::reconfigure:
            return "reconfigure";
        case VmAction::Kind::migrate:
            return "migrate";
        case VmAction::Kind::move_send:
            return "move_send";
        case VmAction::Kind::move_receive:
            return "move_receive";
        case VmAction::Kind::move_finish:
            return "move_finish";
        case VmAction::Kind::move_abort:
            return "move_abort";
    }
    return "?";
}

bool is_move_part(VmAction::Kind kind) {
    return kind == VmAction::Kind::move_send || kind == VmAction::Kind::move_receive ||
           kind == VmAction::Kind::move_finish || kind == VmAction::Kind::move_abort;
}

json encode(const VmAction& action) {
    json interfaces = json::array();
    for (const VmInterface& nic : action.vm.interfaces) {
        json entry = {{"mac", nic.mac}, {"network", nic.network}, {"vlan", nic.vlan}};
        if (!nic.bridge.empty()) entry["bridge"] = nic.bridge;
        interfaces.push_back(std::move(entry));
    }
    json vm = {{"name", action.vm.name},
               {"vcpus", action.vm.vcpus},
               {"memory_mib", action.vm.memory_mib},
               {"template", action.vm.template_ref},
               {"interfaces", std::move(interfaces)}};
    if (!action.vm.guest.empty()) vm["guest"] = action.vm.guest;
    json out = {{"v", VmAction::kVersion},
                {"id", action.id},
                {"kind", to_string(action.kind)},
                {"vm", std::move(vm)}};
    if (!action.to_uri.empty()) out["to_uri"] = action.to_uri;
    if (!action.transfer.empty()) out["transfer"] = action.transfer;
    return out;
}

template <>
Result<VmAction> decode<VmAction>(const json& message) {
    Reader r(VmAction::kName, message);
    VmAction a;
    r.version(VmAction::kVersion);
    r.integer("id", a.id, Need::required);
    std::string kind;
    r.string("kind", kind, Need::required);
    if (r.ok()) {
        auto known = std::find_if(std::begin(kKinds), std::end(kKinds),
                                  [&](VmAction::Kind k) { return kind == to_string(k); });
        if (known == std::end(kKinds))
            r.fail("kind", "is no action kind this side knows: \"" + kind + "\"");
        else
            a.kind = *known;
    }
    Reader vm = r.child("vm", Need::required);
    vm.nonempty_string("name", a.vm.name, Need::required);
    vm.unsigned_integer("vcpus", a.vm.vcpus, Need::optional);
    vm.unsigned_integer("memory_mib", a.vm.memory_mib, Need::optional);
    vm.string("template", a.vm.template_ref, Need::optional);
    if (const json* nics = vm.array("interfaces", Need::optional)) {
        for (std::size_t i = 0; i < nics->size() && r.ok(); ++i)
            read_interface(vm.element("interfaces", i, (*nics)[i]), a.vm.interfaces.emplace_back());
    }
    vm.string("guest", a.vm.guest, Need::optional);
    r.string("to_uri", a.to_uri, Need::optional);
    r.string("transfer", a.transfer, Need::optional);
    if (!r.ok()) return r.status();

    const std::string what = std::string(to_string(a.kind)) + " " + a.vm.name;
    if (is_move_part(a.kind) && a.transfer.empty())
        r.fail_message(what + ": \"transfer\" is missing");
    if (a.kind == VmAction::Kind::create || a.kind == VmAction::Kind::move_receive) {
        if (a.vm.template_ref.empty()) r.fail_message(what + ": \"vm.template\" is missing");
        if (a.vm.vcpus == 0 || a.vm.memory_mib == 0)
            r.fail_message(what + ": \"vm.vcpus\" and \"vm.memory_mib\" are required (not 0)");
    }
    if (a.kind == VmAction::Kind::migrate && a.to_uri.empty())
        r.fail_message(what + ": \"to_uri\" is missing");
    return detail::finish(r, std::move(a));
}

}  // namespace provisioner::wire
