#include "provisioner/agent/vm_actions.h"

#include <optional>
#include <sstream>
#include <system_error>

#include "provisioner/vmhost/qemu_img.h"
#include "vm_move.h"

namespace provisioner::agent {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

Status bad(const std::string& what) {
    return Status::error(Code::invalid_argument, what);
}

Result<vmhost::InterfaceSpec> parse_interface(const json& j, std::size_t index) {
    std::string where = "vm.interfaces[" + std::to_string(index) + "]";
    if (!j.is_object()) return bad(where + " is not an object");
    vmhost::InterfaceSpec nic;
    if (!j.contains("mac") || !j["mac"].is_string()) return bad(where + ".mac is missing");
    nic.mac = j["mac"].get<std::string>();
    if (j.contains("network") && j["network"].is_string())
        nic.network = j["network"].get<std::string>();
    if (j.contains("bridge") && j["bridge"].is_string())
        nic.bridge = j["bridge"].get<std::string>();
    if (j.contains("vlan") && !j["vlan"].is_null()) {
        if (!j["vlan"].is_number_unsigned() || j["vlan"].get<std::uint64_t>() > 4094)
            return bad(where + ".vlan is not a VLAN id");
        std::uint64_t vlan = j["vlan"].get<std::uint64_t>();
        if (vlan != 0) nic.vlan = std::uint16_t(vlan);
    }
    if (nic.network.empty() && nic.bridge.empty()) nic.network = "default";
    return nic;
}

Status create(const VmAction& action, VmHost& host) {
    const std::string& name = action.vm.name;
    vmhost::VmSpec spec = action.vm;
    spec.disk.path = host.registry.disk_path(name);
    if (Status s = vmhost::validate(spec); !s) return s;
    if (host.registry.find(name))
        return Status::error(Code::conflict, "VM " + name + " already exists on this host");
    if (host.server_templates)
        if (Status s = host.server_templates->ensure(action.template_ref, host.templates); !s)
            return s.context("VM " + name);
    auto disk = host.templates.create_overlay(action.template_ref, spec.disk.path);
    if (!disk) return disk.status().context("VM " + name);
    spec.disk = *disk;
    return start_and_record(host, spec, action.template_ref);
}

Status remove(const VmAction& action, VmHost& host) {
    const std::string& name = action.vm.name;
    if (Status s = managed(action, host); !s) return s;
    Status destroyed = host.hypervisor.destroy(name);
    if (!destroyed && destroyed.code() != Code::not_found) return destroyed;
    remove_file(host.registry.find(name)->disk);
    return host.registry.erase(name);
}

Status reconfigure(const VmAction& action, VmHost& host) {
    const std::string& name = action.vm.name;
    if (Status s = managed(action, host); !s) return s;
    ManagedVm record = *host.registry.find(name);
    if (action.vm.vcpus > 0) {
        auto applied = host.hypervisor.set_vcpus(name, action.vm.vcpus);
        if (!applied) return applied.status();
        record.pending_vcpus = *applied == vmhost::Applied::config_only ? action.vm.vcpus : 0;
    }
    if (action.vm.memory_mib > 0) {
        auto applied = host.hypervisor.set_memory(name, action.vm.memory_mib);
        if (!applied) return applied.status();
        record.pending_memory_mib =
            *applied == vmhost::Applied::config_only ? action.vm.memory_mib : 0;
    }
    return host.registry.put(name, std::move(record));
}

Status migrate(const VmAction& action, VmHost& host) {
    const std::string& name = action.vm.name;
    if (Status s = managed(action, host); !s) return s;
    vmhost::MigrateOptions options;
    options.live = true;
    options.copy_overlay = true;
    if (Status s = host.hypervisor.migrate(name, action.to_uri, options); !s) return s;
    // The overlay now lives on the destination; this copy backs nothing.
    remove_file(host.registry.find(name)->disk);
    return host.registry.erase(name);
}

// The id of the store's template the overlay at disk is backed by, or "".
std::string backing_template(const fs::path& disk, VmHost& host) {
    auto chain = vmhost::QemuImg(host.qemu_img).backing_chain(disk);
    if (!chain || chain->size() < 2) return "";
    std::error_code ec;
    for (const auto& t : host.templates.list()) {
        if (fs::equivalent(host.templates.path_of(t), chain->at(1).filename, ec)) return t.id();
    }
    return "";
}

// A disk of the domain's in the registry's directory, or "".
fs::path disk_in_registry(const vmhost::DomainInfo& d, const VmRegistry& registry) {
    for (const auto& disk : d.disks) {
        if (fs::path(disk).lexically_normal().parent_path() == registry.dir()) return disk;
    }
    return {};
}

constexpr VmAction::Kind kKinds[] = {VmAction::Kind::create,      VmAction::Kind::remove,
                                     VmAction::Kind::reconfigure, VmAction::Kind::migrate,
                                     VmAction::Kind::move_send,   VmAction::Kind::move_receive,
                                     VmAction::Kind::move_finish, VmAction::Kind::move_abort};

std::optional<VmAction::Kind> kind_named(const std::string& name) {
    for (VmAction::Kind k : kKinds)
        if (name == to_string(k)) return k;
    return std::nullopt;
}

bool is_move_part(VmAction::Kind kind) {
    return kind == VmAction::Kind::move_send || kind == VmAction::Kind::move_receive ||
           kind == VmAction::Kind::move_finish || kind == VmAction::Kind::move_abort;
}

}  // namespace

Status managed(const VmAction& action, const VmHost& host) {
    if (host.registry.find(action.vm.name)) return Status::ok();
    return Status::error(Code::not_found,
                         "VM " + action.vm.name + " is not managed by this host's agent");
}

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

Result<VmAction> parse_vm_action(const json& j) {
    if (!j.is_object()) return bad("an action is not an object");
    VmAction a;
    if (!j.contains("id") || !j["id"].is_number_integer()) return bad("action without an id");
    a.id = j["id"].get<std::int64_t>();
    std::string kind =
        j.contains("kind") && j["kind"].is_string() ? j["kind"].get<std::string>() : "";
    auto known = kind_named(kind);
    if (!known) return bad("unknown action kind \"" + kind + "\"");
    a.kind = *known;
    if (!j.contains("vm") || !j["vm"].is_object()) return bad("action without a vm");
    const json& vm = j["vm"];
    if (!vm.contains("name") || !vm["name"].is_string()) return bad("vm.name is missing");
    a.vm.name = vm["name"].get<std::string>();
    a.vm.vcpus = 0;
    a.vm.memory_mib = 0;
    if (vm.contains("vcpus") && !vm["vcpus"].is_null()) {
        if (!vm["vcpus"].is_number_unsigned()) return bad("vm.vcpus is not a count");
        a.vm.vcpus = vm["vcpus"].get<unsigned>();
    }
    if (vm.contains("memory_mib") && !vm["memory_mib"].is_null()) {
        if (!vm["memory_mib"].is_number_unsigned()) return bad("vm.memory_mib is not a size");
        a.vm.memory_mib = vm["memory_mib"].get<std::uint64_t>();
    }
    if (vm.contains("template") && vm["template"].is_string())
        a.template_ref = vm["template"].get<std::string>();
    if (vm.contains("interfaces") && vm["interfaces"].is_array()) {
        for (std::size_t i = 0; i < vm["interfaces"].size(); ++i) {
            auto nic = parse_interface(vm["interfaces"][i], i);
            if (!nic) return nic.status();
            a.vm.interfaces.push_back(*nic);
        }
    }
    // "provisioner.server=… provisioner.guest=… provisioner.token=…": one OEM string per key.
    if (vm.contains("guest") && vm["guest"].is_string()) {
        std::istringstream words(vm["guest"].get<std::string>());
        for (std::string word; words >> word;) a.vm.oem_strings.push_back(word);
    }
    if (j.contains("to_uri") && j["to_uri"].is_string()) a.to_uri = j["to_uri"].get<std::string>();
    if (j.contains("transfer") && j["transfer"].is_string())
        a.transfer = j["transfer"].get<std::string>();
    const std::string what = std::string(to_string(a.kind)) + " " + a.vm.name;
    if (is_move_part(a.kind) && a.transfer.empty()) return bad(what + ": transfer is missing");
    if (a.kind == VmAction::Kind::create || a.kind == VmAction::Kind::move_receive) {
        if (a.template_ref.empty()) return bad(what + ": vm.template is missing");
        if (a.vm.vcpus == 0 || a.vm.memory_mib == 0)
            return bad(what + ": vm.vcpus and vm.memory_mib are required");
    }
    if (a.kind == VmAction::Kind::migrate && a.to_uri.empty())
        return bad("migrate " + a.vm.name + ": to_uri is missing");
    return a;
}

Status carry_out(const VmAction& action, VmHost& host) {
    switch (action.kind) {
        case VmAction::Kind::create:
            return create(action, host);
        case VmAction::Kind::remove:
        case VmAction::Kind::move_finish:  // the old host's part of a cold move: a remove
            return remove(action, host);
        case VmAction::Kind::reconfigure:
            return reconfigure(action, host);
        case VmAction::Kind::migrate:
            return migrate(action, host);
        case VmAction::Kind::move_send:
            return move_send(action, host);
        case VmAction::Kind::move_receive:
            return move_receive(action, host);
        case VmAction::Kind::move_abort:
            return move_abort(action, host);
    }
    return bad("unknown action kind");
}

Result<json> managed_vms(VmHost& host) {
    auto domains = host.hypervisor.list();
    if (!domains) return domains.status();
    json vms = json::array();
    for (const auto& d : *domains) {
        const ManagedVm* vm = host.registry.find(d.name);
        if (!vm) {
            fs::path disk = disk_in_registry(d, host.registry);
            if (disk.empty()) continue;
            if (Status s = host.registry.put(d.name, {backing_template(disk, host), disk}); !s)
                return s;
            vm = host.registry.find(d.name);
        }
        json entry{{"name", d.name},
                   {"vcpus", vm->pending_vcpus ? vm->pending_vcpus : d.vcpus},
                   {"memory_mib", vm->pending_memory_mib ? vm->pending_memory_mib : d.memory_mib},
                   {"template", vm->template_ref},
                   {"state", vmhost::to_string(d.state)}};
        if (vm->pending_vcpus || vm->pending_memory_mib) entry["restart_pending"] = true;
        vms.push_back(entry);
    }
    return vms;
}

}  // namespace provisioner::agent
