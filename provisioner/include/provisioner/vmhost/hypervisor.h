// The VM actions an agent carries out on its host, behind a narrow interface, and its libvirt
// implementation.
//
// Errors: libvirt's own message is kept; the code says what the caller can do about it:
// not_found (no such domain), conflict (the name is taken), invalid_argument (a bad spec, or
// XML or a value libvirt refuses), illegal_transition (the domain's state forbids it, or the
// driver does not support the operation), storage (anything else: the hypervisor failed).
// Nothing is ever printed to stderr by libvirt: its error handler is replaced on first use.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "provisioner/status.h"
#include "provisioner/vmhost/domain_stats.h"
#include "provisioner/vmhost/domain_kind.h"
#include "provisioner/vmhost/vm_spec.h"

namespace provisioner::vmhost {

enum class DomainState { running, paused, shut_off, crashed, other };

const char* to_string(DomainState state);

struct DomainInfo {
    std::string name;
    std::string uuid;
    DomainState state = DomainState::other;
    unsigned vcpus = 0;            // current (live when running, else config)
    std::uint64_t memory_mib = 0;  // current
    std::uint64_t max_memory_mib = 0;
    bool persistent = false;
    // Started by the hypervisor itself when it starts (libvirt's autostart): after a Dom0
    // reboot the domain runs again with no agent and no server (XSM: the site survives any
    // one host; issue 20 item 5).
    bool autostart = false;
    // Its kind as libvirt has it (the <domain> type, and the OS type on Xen): what it runs
    // as, whatever this connection would choose for a new domain today.
    std::optional<DomainKind> kind;
    std::vector<std::string> disks;  // source files of the domain's disks, in XML order
};

// Whether a resize reached the running domain or only its persistent config (the driver or
// the domain's boot-time maximum refused the live change; it takes effect at the next start).
enum class Applied { live_and_config, config_only };

struct MigrateOptions {
    bool live = true;
    // Copy the VM's own disk (the top qcow2 overlay) to the destination, which must already
    // hold the template it is backed by at the same path (VIR_MIGRATE_NON_SHARED_INC).
    bool copy_overlay = false;
};

// One connection to one hypervisor. Not thread-safe: one caller at a time (libvirt itself is
// thread-safe, but a resize is several calls that must not interleave).
class Hypervisor {
  public:
    virtual ~Hypervisor() = default;

    // The kind of domain create() defines here, and why it was chosen (domain_kind.h).
    virtual DomainKind kind() const = 0;
    virtual const std::string& kind_reason() const = 0;
    // Defines spec persistently, marks it to start with its hypervisor (autostart), and starts
    // it. conflict if a domain of that name exists; if the start fails the definition is
    // removed again, so a failure leaves nothing behind.
    virtual Status create(const VmSpec& spec) = 0;
    // Stops the domain if it runs (hard power-off) and removes its definition. Its disk is the
    // caller's to delete. not_found if there is no such domain.
    virtual Status destroy(const std::string& name) = 0;
    // shutdown, power_off and start also say whether the domain comes back when its
    // hypervisor starts again: a domain stopped on purpose stays stopped after a Dom0 reboot,
    // one started runs again.
    // Asks the guest to shut down (ACPI) and returns at once; ok when it is not running.
    virtual Status shutdown(const std::string& name) = 0;
    // Hard power-off, keeping the definition (and the disk); ok when it is not running.
    virtual Status power_off(const std::string& name) = 0;
    // Starts a defined domain; ok when it already runs.
    virtual Status start(const std::string& name) = 0;
    // Sets the number of vCPUs / the memory in the persistent config (raising the maximum if
    // needed) and, when the domain runs, live as far as the driver allows.
    virtual Result<Applied> set_vcpus(const std::string& name, unsigned vcpus) = 0;
    virtual Result<Applied> set_memory(const std::string& name, std::uint64_t memory_mib) = 0;
    // Moves the domain to the hypervisor at dest_uri (e.g. xen+ssh://host2/system), persistent
    // (and autostarted) there and undefined here.
    virtual Status migrate(const std::string& name, const std::string& dest_uri,
                           const MigrateOptions& options) = 0;
    virtual Result<DomainInfo> get(const std::string& name) = 0;
    virtual Result<std::vector<DomainInfo>> list() = 0;  // every domain, by name
    // What the domain uses (domain_stats.h). not_found if there is no such domain; a disk or
    // an interface whose statistics the driver refuses is left out, not an error.
    virtual Result<DomainStats> stats(const std::string& name) = 0;
};

struct OpenOptions {
    Accel accel = Accel::auto_detect;  // qemu hosts only: KVM, TCG, or probe (domain_kind.h)
    std::filesystem::path root = "/";  // where probe_kvm looks (tests)
};

// Opens uri (xen:///system, qemu:///system, test:///default, ...) and chooses the kind of
// domain it creates from libvirt's capabilities and options (choose_domain_kind). storage
// with libvirt's message if the connection fails or it cannot read the capabilities,
// invalid_argument for a URI of an unknown kind.
Result<std::unique_ptr<Hypervisor>> open_libvirt(const std::string& uri,
                                                 const OpenOptions& options = {});

}  // namespace provisioner::vmhost
