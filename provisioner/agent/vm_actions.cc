#include "provisioner/agent/vm_actions.h"

#include <optional>
#include <set>
#include <sstream>
#include <system_error>

#include "provisioner/agent/vm_metrics.h"
#include "provisioner/vmhost/qemu_img.h"
#include "vm_move.h"

namespace provisioner::agent {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

Status invalid_action(const std::string& what) {
    return Status::error(Code::invalid_argument, what);
}

Status create(const VmAction& action, VmHost& host) {
    const std::string& name = action.vm.name;
    vmhost::VmSpec spec = action.vm;
    spec.disk.path = host.registry.disk_path(name);
    if (Status s = vmhost::validate(spec); !s) return s;
    if (const ManagedVm* kept = host.registry.find(name)) {
        auto domain = host.hypervisor.get(name);
        if (domain) {
            // Defined again on its disk before this action came (restore_missing_vms, before
            // this cycle's report), from the template the server asks for: it is there.
            if (kept->template_ref == action.template_ref) return Status::ok();
            return Status::error(Code::conflict, "VM " + name + " already exists on this host");
        }
        if (domain.status().code() != Code::not_found) return domain.status();
        // Managed here, yet its domain is gone: defined again on its own disk, never made
        // afresh over the guest's data; made afresh only when that disk is gone too.
        auto restored = restore_vm(host, name, &spec);
        if (!restored) return restored.status();
        if (*restored == Restored::restarted) return Status::ok();
    }
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
    const std::vector<std::uint16_t> vlans = host.registry.find(name)->vlans;
    remove_file(host.registry.find(name)->disk);
    if (Status s = host.registry.erase(name); !s) return s;
    release_vlans(host, vlans);
    return Status::ok();
}

Status reconfigure(const VmAction& action, VmHost& host) {
    const std::string& name = action.vm.name;
    if (Status s = managed(action, host); !s) return s;
    ManagedVm record = *host.registry.find(name);
    if (action.vm.vcpus > 0) {
        auto applied = host.hypervisor.set_vcpus(name, action.vm.vcpus);
        if (!applied) return applied.status();
        record.pending_vcpus = *applied == vmhost::Applied::config_only ? action.vm.vcpus : 0;
        if (record.spec) record.spec->vcpus = action.vm.vcpus;
    }
    if (action.vm.memory_mib > 0) {
        auto applied = host.hypervisor.set_memory(name, action.vm.memory_mib);
        if (!applied) return applied.status();
        record.pending_memory_mib =
            *applied == vmhost::Applied::config_only ? action.vm.memory_mib : 0;
        if (record.spec) record.spec->memory_mib = action.vm.memory_mib;
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
    const std::vector<std::uint16_t> vlans = host.registry.find(name)->vlans;
    remove_file(host.registry.find(name)->disk);
    if (Status s = host.registry.erase(name); !s) return s;
    release_vlans(host, vlans);
    return Status::ok();
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

}  // namespace

Status managed(const VmAction& action, const VmHost& host) {
    if (host.registry.find(action.vm.name)) return Status::ok();
    return Status::error(Code::not_found,
                         "VM " + action.vm.name + " is not managed by this host's agent");
}

Result<VmAction> parse_vm_action(const json& j) {
    auto decoded = wire::decode<wire::VmAction>(j);
    if (!decoded) return decoded.status();
    VmAction a;
    a.id = decoded->id;
    a.kind = decoded->kind;
    a.vm.name = decoded->vm.name;
    a.vm.vcpus = decoded->vm.vcpus;
    a.vm.memory_mib = decoded->vm.memory_mib;
    for (const wire::VmInterface& i : decoded->vm.interfaces) {
        vmhost::InterfaceSpec nic;
        nic.mac = i.mac;
        nic.network = i.network;
        nic.bridge = i.bridge;
        if (i.vlan != 0) nic.vlan = i.vlan;
        if (nic.network.empty() && nic.bridge.empty()) nic.network = kUntaggedNetwork;
        a.vm.interfaces.push_back(std::move(nic));
    }
    // "provisioner.server=… provisioner.guest=… provisioner.token=…": one OEM string per key.
    std::istringstream words(decoded->vm.guest);
    for (std::string word; words >> word;) a.vm.oem_strings.push_back(word);
    a.template_ref = decoded->vm.template_ref;
    a.to_uri = decoded->to_uri;
    a.transfer = decoded->transfer;
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
    return invalid_action("unknown action kind");
}

std::vector<VmRestore> restore_missing_vms(VmHost& host,
                                           const std::vector<vmhost::DomainInfo>& domains) {
    std::set<std::string> present;
    for (const auto& d : domains) present.insert(d.name);
    std::vector<std::string> missing;
    for (const auto& [name, _] : host.registry.vms())
        if (!present.count(name)) missing.push_back(name);
    std::vector<VmRestore> out;
    for (const std::string& name : missing) {
        const fs::path disk = host.registry.find(name)->disk;
        VmRestore r{name, VmRestore::Outcome::failed, ""};
        auto restored = restore_vm(host, name);
        if (!restored) {
            r.detail = "its domain is gone; defining it again failed (tried again next cycle): " +
                       restored.status().message();
        } else if (*restored == Restored::restarted) {
            r.outcome = VmRestore::Outcome::restarted;
            r.detail =
                "its domain was gone: defined and started again on its disk " + disk.string();
        } else if (*restored == Restored::dropped) {
            r.outcome = VmRestore::Outcome::dropped;
            r.detail = "its domain and its disk " + disk.string() +
                       " are gone: forgotten, for the server to create it afresh";
        } else {
            r.outcome = VmRestore::Outcome::waiting;
            r.detail =
                "its domain is gone and its record (an older vms.json) has no spec: "
                "defined again on its disk " +
                disk.string() + " at the server's create action";
        }
        out.push_back(std::move(r));
    }
    return out;
}

Result<std::vector<wire::ReportedVm>> managed_vms(VmHost& host) {
    auto domains = host.hypervisor.list();
    if (!domains) return domains.status();
    return managed_vms(host, *domains);
}

Result<std::vector<wire::ReportedVm>> managed_vms(VmHost& host,
                                                  const std::vector<vmhost::DomainInfo>& domains) {
    std::vector<wire::ReportedVm> vms;
    for (const auto& d : domains) {
        const ManagedVm* vm = host.registry.find(d.name);
        if (!vm) {
            fs::path disk = disk_in_registry(d, host.registry);
            if (disk.empty()) continue;
            if (Status s = host.registry.put(d.name, {backing_template(disk, host), disk}); !s)
                return s;
            vm = host.registry.find(d.name);
        }
        wire::ReportedVm entry;
        entry.name = d.name;
        entry.vcpus = vm->pending_vcpus ? vm->pending_vcpus : d.vcpus;
        entry.memory_mib = vm->pending_memory_mib ? vm->pending_memory_mib : d.memory_mib;
        entry.template_ref = vm->template_ref;
        entry.state = vmhost::to_string(d.state);
        entry.restart_pending = vm->pending_vcpus || vm->pending_memory_mib;
        if (d.kind) entry.domain_type = vmhost::to_string(*d.kind);
        // Without its statistics the VM is still reported: its metrics are what may be missing.
        if (auto stats = host.hypervisor.stats(d.name)) entry.metrics = vm_metrics(*stats);
        vms.push_back(std::move(entry));
    }
    return vms;
}

}  // namespace provisioner::agent
