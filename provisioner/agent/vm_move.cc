#include "vm_move.h"

#include <algorithm>
#include <iostream>
#include <system_error>
#include <thread>

#include "provisioner/vmhost/qemu_img.h"

namespace provisioner::agent {
namespace {

namespace fs = std::filesystem;

constexpr std::chrono::milliseconds kShutdownPoll{200};

Status no_transfers(const VmAction& action) {
    return Status::error(Code::illegal_transition,
                         std::string(to_string(action.kind)) + " " + action.vm.name +
                             ": this agent has no server to move disks through");
}

// The domain shut down by its guest within wait, else powered off.
Status stop(const std::string& name, VmHost& host) {
    if (Status s = host.hypervisor.shutdown(name); !s) return s;
    const auto deadline = std::chrono::steady_clock::now() + host.shutdown_wait;
    for (;;) {
        auto d = host.hypervisor.get(name);
        if (!d) return d.status();
        if (d->state == vmhost::DomainState::shut_off) return Status::ok();
        if (std::chrono::steady_clock::now() >= deadline) return host.hypervisor.power_off(name);
        std::this_thread::sleep_for(kShutdownPoll);
    }
}

// The downloaded overlay at partial, pointed at this host's copy of its template and moved
// to the registry's disk path.
Result<vmhost::DiskSpec> place_disk(const VmAction& action, VmHost& host, const fs::path& partial) {
    auto t = host.templates.resolve(action.template_ref);
    if (!t) return t.status();
    const fs::path disk = host.registry.disk_path(action.vm.name);
    vmhost::QemuImg qemu_img(host.qemu_img);
    if (Status s = qemu_img.set_backing(partial, host.templates.path_of(*t).string(), t->format);
        !s)
        return s;
    std::error_code ec;
    fs::rename(partial, disk, ec);
    if (ec)
        return Status::error(Code::storage, "moving " + partial.string() + " to " + disk.string() +
                                                ": " + ec.message());
    return vmhost::DiskSpec{disk, "qcow2"};
}

Status receive_into(const VmAction& action, VmHost& host, vmhost::VmSpec spec,
                    const fs::path& partial) {
    if (host.server_templates)
        if (Status s = host.server_templates->ensure(action.template_ref, host.templates); !s)
            return s;
    if (Status s = host.server_disks->download(action.transfer, partial); !s) return s;
    auto disk = place_disk(action, host, partial);
    if (!disk) return disk.status();
    spec.disk = *disk;
    return start_and_record(host, spec, action.template_ref);
}

}  // namespace

void remove_file(const fs::path& path) {
    std::error_code ec;
    fs::remove(path, ec);
}

void release_vlans(VmHost& host, const std::vector<std::uint16_t>& vlans) {
    if (!host.vlans) return;
    for (std::uint16_t vid : vlans) {
        bool used = false;
        for (const auto& [_, vm] : host.registry.vms())
            used = used || std::find(vm.vlans.begin(), vm.vlans.end(), vid) != vm.vlans.end();
        if (used) continue;
        auto released = host.vlans->release(vid);
        if (!released)
            std::cerr << "agent: warning: VLAN " << vid
                      << ": its bridge stays: " << released.status().message() << std::endl;
        else if (*released)
            std::cerr << "agent: VLAN " << vid << ": no VM on it is left here; removed "
                      << vlan_bridge_name(vid) << " and " << vlan_port_name(vid) << std::endl;
    }
}

Status start_and_record(VmHost& host, const vmhost::VmSpec& wanted, const std::string& template_ref,
                        OnFailure on_failure) {
    vmhost::VmSpec spec = wanted;
    std::vector<std::uint16_t> vlans;
    auto undo = [&] {
        if (on_failure == OnFailure::remove_disk) remove_file(spec.disk.path);
        release_vlans(host, vlans);
    };
    for (auto& nic : spec.interfaces) {
        if (nic.vlan && host.vlans) {
            vlans.push_back(*nic.vlan);
            auto bridge = host.vlans->ensure(*nic.vlan);
            if (!bridge) {
                undo();
                return bridge.status().context("VM " + spec.name + ": interface " + nic.mac +
                                               " on VLAN " + std::to_string(*nic.vlan));
            }
            nic.network.clear();
            nic.bridge = *bridge;
            nic.vlan.reset();  // untagged in its VLAN's bridge; the trunk's port tags it
        } else if (!host.bridge.empty() && nic.network == kUntaggedNetwork) {
            nic.network.clear();
            nic.bridge = host.bridge;
        }
    }
    if (Status s = host.hypervisor.create(spec); !s) {
        undo();
        return s;
    }
    // Kept as the server gave it (VLANs, not this host's bridges), with the uuid libvirt chose,
    // so that the guest sees the same machine when it is defined again.
    vmhost::VmSpec kept = wanted;
    if (kept.uuid.empty())
        if (auto d = host.hypervisor.get(spec.name)) kept.uuid = d->uuid;
    ManagedVm record{template_ref, spec.disk.path, 0, 0, vlans, std::move(kept)};
    if (Status s = host.registry.put(spec.name, std::move(record)); !s) {
        (void)host.hypervisor.destroy(spec.name);
        undo();
        return s;
    }
    return Status::ok();
}

Result<Restored> restore_vm(VmHost& host, const std::string& name, const vmhost::VmSpec* given) {
    const ManagedVm* found = host.registry.find(name);
    if (!found) return Status::error(Code::not_found, "VM " + name + " is not managed here");
    const ManagedVm record = *found;
    std::error_code ec;
    if (!fs::exists(record.disk, ec)) {
        if (ec)
            return Status::error(Code::storage, "VM " + name + ": reading " + record.disk.string() +
                                                    ": " + ec.message());
        if (Status s = host.registry.erase(name); !s) return s;
        release_vlans(host, record.vlans);
        return Restored::dropped;
    }
    if (!given && !record.spec) return Restored::no_spec;
    vmhost::VmSpec spec = given ? *given : *record.spec;
    spec.name = name;
    if (spec.uuid.empty() && record.spec) spec.uuid = record.spec->uuid;
    const std::string format = record.spec ? record.spec->disk.format : "qcow2";
    spec.disk = {record.disk, format};
    if (Status s = vmhost::validate(spec); !s) return s;
    if (Status s = start_and_record(host, spec, record.template_ref, OnFailure::keep_disk); !s)
        return s.context("VM " + name + ": starting it again on " + record.disk.string());
    return Restored::restarted;
}

Status move_send(const VmAction& action, VmHost& host) {
    const std::string& name = action.vm.name;
    if (Status s = managed(action, host); !s) return s;
    if (!host.server_disks) return no_transfers(action);
    if (Status s = stop(name, host); !s) return s.context("moving VM " + name + ": stopping it");
    Status sent = host.server_disks->upload(action.transfer, host.registry.find(name)->disk);
    if (sent) return Status::ok();
    Status restarted = host.hypervisor.start(name);
    return Status::error(
        sent.code(), "moving VM " + name + ": sending its disk: " + sent.message() +
                         (restarted ? "; started again here"
                                    : "; starting it again here failed: " + restarted.message()));
}

Status move_receive(const VmAction& action, VmHost& host) {
    const std::string& name = action.vm.name;
    if (!host.server_disks) return no_transfers(action);
    vmhost::VmSpec spec = action.vm;
    spec.disk.path = host.registry.disk_path(name);
    if (Status s = vmhost::validate(spec); !s) return s;
    if (host.registry.find(name) || host.hypervisor.get(name))
        return Status::error(Code::conflict, "VM " + name + " already exists on this host");
    const fs::path partial = host.registry.disk_path(name).string() + ".moving";
    Status s = receive_into(action, host, std::move(spec), partial);
    remove_file(partial);
    return s ? s : s.context("receiving VM " + name);
}

Status move_abort(const VmAction& action, VmHost& host) {
    if (Status s = managed(action, host); !s) return s;
    return host.hypervisor.start(action.vm.name);
}

}  // namespace provisioner::agent
