// Which libvirt domains this Dom0 agent manages, and the template each was made from: a small
// JSON file (DISKS/vms.json) beside the VMs' overlay disks. Only the domains named here are
// reported to provisionerd and may be removed, resized or moved by its actions, so a host's
// other domains (and libvirt's test driver's own "test") are left alone.
//
// Each record keeps the VM's spec too, so that a VM whose domain is gone (a Dom0 reboot with a
// transient or lost domain, an operator's `virsh undefine`) is defined and started again on
// its own disk while no server answers (issue 20 item 5). The spec holds the guest's OEM
// strings, its token among them: the file is the owner's alone (0600).
//
// The file is written by base::write_private_file (a partial file, fsync, rename, fsync
// of the directory), so it is always whole and a change put or erase reported saved survives
// a crash. Not thread-safe; one registry per directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "provisioner/status.h"
#include "provisioner/vmhost/vm_spec.h"

namespace provisioner::agent {

struct ManagedVm {
    std::string template_ref;    // the reference it was created from ("debian@12", "label=web")
    std::filesystem::path disk;  // its overlay disk
    // A resize beyond the domain's boot-time maximum reaches only its persistent config and
    // takes effect at its next start; until then it is reported with these values (0: none),
    // so that provisionerd does not plan the same resize again.
    unsigned pending_vcpus = 0;
    std::uint64_t pending_memory_mib = 0;
    // The site VLANs its interfaces are on: while one VM here has VLAN N, N's bridge stays,
    // whether that VM runs or not.
    std::vector<std::uint16_t> vlans{};
    // What it was defined with (name, uuid, vCPUs and memory as last applied, interfaces as
    // the server gave them, OEM strings, the disk's format; its path is `disk`): enough to define
    // it again. None in a record written before specs were kept, or for a VM adopted after a
    // migration here: such a VM is defined again only by the server's create action.
    std::optional<vmhost::VmSpec> spec{};
};

class VmRegistry {
  public:
    // Creates dir if needed and reads DIR/vms.json (absent: empty). storage if unreadable or
    // an entry is malformed.
    static Result<std::unique_ptr<VmRegistry>> open(const std::filesystem::path& dir);

    const std::map<std::string, ManagedVm>& vms() const { return vms_; }
    const ManagedVm* find(const std::string& name) const;
    // Records (or replaces) name and saves; on a failed save the registry is unchanged.
    Status put(const std::string& name, ManagedVm vm);
    // Forgets name and saves (ok when it was not there).
    Status erase(const std::string& name);

    const std::filesystem::path& dir() const { return dir_; }
    // Where a VM's overlay disk goes: DIR/NAME.qcow2.
    std::filesystem::path disk_path(const std::string& name) const;

  private:
    explicit VmRegistry(std::filesystem::path dir) : dir_(std::move(dir)) {}
    Status save(const std::map<std::string, ManagedVm>& vms) const;

    std::filesystem::path dir_;
    std::map<std::string, ManagedVm> vms_;
};

}  // namespace provisioner::agent
