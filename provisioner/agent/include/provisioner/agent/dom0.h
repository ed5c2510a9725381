// `provisioner-agent dom0`: the Dom0's loop. About once a second it defines again the managed
// VMs whose domain is gone (restore_missing_vms, with or without a server), reports this
// host's capacity, metrics (host_metrics.h) and managed VMs (POST /api/v1/agent/vms), carries
// out the actions the answer holds, in order, and answers each (POST
// /api/v1/agent/actions/{id}); the answer's hot templates go to the template worker, which
// pre-copies them in the background. The server, the hypervisor and the clock are behind
// interfaces, so tests drive cycles one by one.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "provisioner/agent/agent.h"
#include "provisioner/agent/capacity.h"
#include "provisioner/agent/facts.h"
#include "provisioner/agent/netservices.h"
#include "provisioner/agent/server_client.h"
#include "provisioner/agent/template_worker.h"
#include "provisioner/agent/vm_actions.h"

namespace provisioner::agent {

struct Dom0Options {
    std::string mac;
    // The URI another host uses to reach this hypervisor (capacity.libvirt_uri, the
    // destination of a migration).
    std::string libvirt_uri;
    // Whether this hypervisor can take (and make) a live migration (capacity.live_migration);
    // when either end cannot, the server moves a VM cold (provisioner/API.md).
    bool live_migration = false;
    std::filesystem::path root = "/";  // where /proc/loadavg is read (tests: a fake tree)
    unsigned reserved_vcpus = 1;       // Dom0's own share, not offered to VMs
    std::uint64_t reserved_memory_mib = 1024;
    std::chrono::milliseconds interval{1'000};
    std::chrono::milliseconds run_for{0};  // 0: until stopped
    bool once = false;                     // one cycle, then return
    // Runs `xl info` when ROOT/proc/xen/capabilities says this is Xen's control domain (none:
    // the facts' CPUs and memory, which there are Dom0's own share). Outlives the loop.
    vmhost::ProcessRunner* xl = nullptr;
    // A VM's interface in this Dom0, by VM name, for network services: given where the
    // hypervisor cannot say (libvirt's test driver); otherwise the target dev of the domain's
    // first interface, as libvirt has it.
    std::map<std::string, std::string> vm_interfaces{};
};

// /proc/loadavg's one-minute load divided by cpus (0 when it cannot be read or cpus is 0).
double load_per_cpu(const std::filesystem::path& root, unsigned cpus);

// This host's capacity as the report carries it (wire/dom0.h).
wire::Capacity dom0_capacity(const Facts& facts, double load, const Dom0Options& options);

// In Xen's control domain, what VMs can have: Xen's CPUs, and as memory Xen's free memory
// plus what the reported VMs not shut off hold now, since the server's placement subtracts
// every VM on the host from memory_mib again. Dom0's own memory (dom0_mem) is not free, so it
// is never offered. Without xen.free_bytes the capacity is left as it is (false).
bool apply_xen_capacity(wire::Capacity& capacity, const XenHost& xen,
                        const std::vector<wire::ReportedVm>& vms);

// What one cycle came to.
struct Dom0Cycle {
    bool reported = false;  // the server took the report and answered with actions
    int actions_ok = 0;
    int actions_failed = 0;  // carried out and failed (answered with the error)
    // The heartbeat interval the answer asked for (0: none asked).
    std::chrono::milliseconds server_interval{0};
};

class Dom0Loop {
  public:
    // facts: the host's (CPUs and memory for the capacity); server, host and templates must
    // outlive this. templates: the worker sharing host.templates (none: no pre-copy or
    // disposal, and the store is this loop's alone).
    // netservices: the VMs' network services (none: the answer's are ignored); outlives this.
    Dom0Loop(Dom0Options options, Facts facts, ServerClient& server, VmHost& host,
             TemplateWorker* templates = nullptr, NetServices* netservices = nullptr);

    // One report and its actions. Never throws; failures are logged (one line each).
    Dom0Cycle cycle();
    // Cycles every interval until options.run_for has passed (if set), stop becomes true,
    // or after one cycle with options.once. Returns 0, or with once 1 when the report failed.
    int run(base::Clock& clock, const std::atomic<bool>* stop = nullptr);
    // Between two reports: options.interval, or the server's heartbeat interval when shorter,
    // so the server never sees this host silent for longer than it asked.
    std::chrono::milliseconds interval() const;

  private:
    // Posts an action's answer; one the server could not be reached for is kept and posted
    // again next cycle, so an action is never carried out twice.
    void answer(std::int64_t id, bool ok, const std::string& error);
    void post_pending_answers();
    // The template store, locked against the worker (waiting for a pre-copy of ref).
    std::unique_lock<std::mutex> lock_templates(const std::string& ref = "");
    void pass_hot_templates(const nlohmann::json& templates);
    // Network services: the answer's set kept, then the host made to match it.
    void reconcile_netservices();
    std::string vm_interface(const std::string& vm);
    // The managed VMs to report, after those whose domain is gone are defined again on their
    // disks (restore_missing_vms, logged; a failure once until it changes).
    Result<std::vector<wire::ReportedVm>> restore_and_list();
    // The capacity for this cycle's report of vms.
    wire::Capacity capacity(const std::vector<wire::ReportedVm>& vms);

    Dom0Options options_;
    Facts facts_;
    ServerClient& server_;
    VmHost& host_;
    TemplateWorker* templates_;
    NetServices* netservices_;
    struct Answer {
        bool ok = false;
        std::string error;
        bool delivered = false;
    };
    std::map<std::int64_t, Answer> answers_;  // every action carried out, by id
    std::chrono::milliseconds server_interval_{0};
    bool metrics_error_logged_ = false;                // one line, not one a cycle
    std::map<std::string, std::string> restore_said_;  // the last failure logged, by VM
    std::string xen_said_;  // the last line logged about Xen's figures (logged when it changes)
};

}  // namespace provisioner::agent
