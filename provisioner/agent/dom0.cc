#include "provisioner/agent/dom0.h"

#include <algorithm>
#include <fstream>
#include <iostream>

#include "provisioner/agent/host_metrics.h"

namespace provisioner::agent {
namespace {

using json = nlohmann::json;

constexpr std::uint64_t kMiB = 1024 * 1024;

void log(const std::string& line) {
    std::cerr << "agent: dom0: " << line << std::endl;
}

}  // namespace

double load_per_cpu(const std::filesystem::path& root, unsigned cpus) {
    std::ifstream in(root / "proc/loadavg");
    double one_minute = 0;
    if (!(in >> one_minute) || cpus == 0) return 0;
    return one_minute / cpus;
}

wire::Capacity dom0_capacity(const Facts& facts, double load, const Dom0Options& options) {
    wire::Capacity c;
    c.vcpus = facts.cpu_cores;
    c.memory_mib = facts.memory_bytes / kMiB;
    c.load = load;
    c.reserved_vcpus = options.reserved_vcpus;
    c.reserved_memory_mib = options.reserved_memory_mib;
    c.libvirt_uri = options.libvirt_uri;
    c.live_migration = options.live_migration;
    return c;
}

bool apply_xen_capacity(wire::Capacity& capacity, const XenHost& xen,
                        const std::vector<wire::ReportedVm>& vms) {
    if (!xen.free_bytes) return false;
    std::uint64_t held_mib = 0;
    for (const wire::ReportedVm& vm : vms)
        if (vm.state != "shut off" && vm.state != "crashed") held_mib += vm.memory_mib;
    capacity.vcpus = static_cast<std::uint32_t>(xen.cpus);
    capacity.memory_mib = *xen.free_bytes / kMiB + held_mib;
    return true;
}

Dom0Loop::Dom0Loop(Dom0Options options, Facts facts, ServerClient& server, VmHost& host,
                   TemplateWorker* templates, NetServices* netservices)
    : options_(std::move(options)),
      facts_(std::move(facts)),
      server_(server),
      host_(host),
      templates_(templates),
      netservices_(netservices) {}

std::string Dom0Loop::vm_interface(const std::string& vm) {
    if (auto given = options_.vm_interfaces.find(vm); given != options_.vm_interfaces.end())
        return given->second;
    auto stats = host_.hypervisor.stats(vm);
    if (!stats || stats->interfaces.empty()) return "";
    return stats->interfaces.front().device;
}

void Dom0Loop::reconcile_netservices() {
    if (!netservices_) return;
    netservices_->reconcile([this](const std::string& vm) { return vm_interface(vm); });
}

std::unique_lock<std::mutex> Dom0Loop::lock_templates(const std::string& ref) {
    return templates_ ? templates_->lock_store(ref) : std::unique_lock<std::mutex>();
}

void Dom0Loop::pass_hot_templates(const json& templates) {
    if (!templates_ || templates.is_null()) return;
    auto hot = parse_hot_templates(templates);
    if (!hot) {
        log("hot templates: " + hot.status().message());
        return;
    }
    templates_->update(std::move(*hot));
}

void Dom0Loop::answer(std::int64_t id, bool ok, const std::string& error) {
    Answer& a = answers_[id];
    a.ok = ok;
    a.error = error;
    CallResult posted = server_.action_done(id, ok, error);
    if (posted.ok()) {
        a.delivered = true;
    } else if (posted.kind == CallResult::Kind::fatal) {
        a.delivered = true;  // refused: posting it again would be refused again
        log("answering action " + std::to_string(id) + ": " + posted.error);
    } else {
        log("answering action " + std::to_string(id) + " (again next cycle): " + posted.error);
    }
}

void Dom0Loop::post_pending_answers() {
    for (auto& [id, a] : answers_) {
        if (a.delivered) continue;
        CallResult posted = server_.action_done(id, a.ok, a.error);
        if (posted.kind == CallResult::Kind::retry) return;  // still unreachable: next cycle
        a.delivered = true;
        if (!posted.ok()) log("answering action " + std::to_string(id) + ": " + posted.error);
    }
}

wire::Capacity Dom0Loop::capacity(const std::vector<wire::ReportedVm>& vms) {
    wire::Capacity c =
        dom0_capacity(facts_, load_per_cpu(options_.root, facts_.cpu_cores), options_);
    if (!options_.xl || !is_xen_control_domain(options_.root)) return c;
    auto ran = options_.xl->run({"xl", "info"});
    std::optional<XenHost> xen;
    if (ran && ran->exit_code == 0) xen = parse_xl_info(ran->out);
    std::string said;
    if (xen && apply_xen_capacity(c, *xen, vms))
        said = "Xen: " + std::to_string(xen->cpus) + " CPUs, " +
               std::to_string(xen->memory_bytes / kMiB) + " MiB, " +
               std::to_string(*xen->free_bytes / kMiB) + " MiB free: offering " +
               std::to_string(c.memory_mib) + " MiB to VMs (xl info)";
    else
        said = "in Xen's Dom0 but `xl info` gave no free memory (" +
               (ran ? (xen ? std::string("no free_memory") : ran->err) : ran.status().message()) +
               "); reporting Dom0's own CPUs and memory";
    if (said != xen_said_) log(said);  // once, and again when the figures change
    xen_said_ = said;
    return c;
}

Result<std::vector<wire::ReportedVm>> Dom0Loop::restore_and_list() {
    auto domains = host_.hypervisor.list();
    if (!domains) return domains.status();
    bool changed = false;
    for (const VmRestore& r : restore_missing_vms(host_, *domains)) {
        const bool failed =
            r.outcome == VmRestore::Outcome::failed || r.outcome == VmRestore::Outcome::waiting;
        changed = changed || !failed;
        std::string& said = restore_said_[r.name];
        if (said != r.detail) log("VM " + r.name + ": " + r.detail);  // a failure once a change
        said = failed ? r.detail : "";
    }
    std::erase_if(restore_said_, [this](const auto& entry) {
        return entry.second.empty() || !host_.registry.find(entry.first);
    });
    if (changed) {
        domains = host_.hypervisor.list();
        if (!domains) return domains.status();
    }
    return managed_vms(host_, *domains);
}

Dom0Cycle Dom0Loop::cycle() {
    Dom0Cycle out;
    post_pending_answers();
    auto held = lock_templates();
    auto vms = restore_and_list();
    held = {};
    if (!vms) {
        log("listing domains: " + vms.status().message());
        return out;
    }
    wire::Dom0Report report;
    report.mac = options_.mac;
    report.capacity = capacity(*vms);
    report.vms = std::move(*vms);
    if (templates_) report.templates = templates_->held();
    // Before the report, so that it says what is installed, and so that an agent whose server
    // is away still applies the set it kept.
    reconcile_netservices();
    if (netservices_)
        for (wire::ReportedVm& vm : report.vms) vm.netservices = netservices_->active(vm.name);
    if (auto metrics = read_host_metrics(options_.root)) {
        report.metrics = std::move(*metrics);
    } else if (!metrics_error_logged_) {
        log("host metrics (reported without them): " + metrics.status().message());
        metrics_error_logged_ = true;
    }
    CallResult reply = server_.vms(report);
    if (!reply.ok()) {
        log("report: " + reply.error);
        return out;
    }
    out.reported = true;
    if (reply.body.is_null()) return out;  // 204
    auto decoded = wire::decode<wire::Dom0Answer>(reply.body);
    if (!decoded) {
        log(decoded.status().message());
        return out;
    }
    pass_hot_templates(decoded->templates);
    if (netservices_ && decoded->netservices)
        if (Status kept =
                netservices_->set_desired(std::move(*decoded->netservices), decoded->tunnel_key);
            !kept)
            log("network services (applied, not kept for a restart): " + kept.message());
    if (decoded->interval_seconds > 0) {
        server_interval_ = std::chrono::seconds(decoded->interval_seconds);
        out.server_interval = server_interval_;
    }
    for (const json& raw : decoded->actions) {
        auto action = parse_vm_action(raw);
        if (!action) {
            log("action: " + action.status().message());
            if (raw.is_object() && raw.contains("id") && raw["id"].is_number_integer()) {
                std::int64_t id = raw["id"].get<std::int64_t>();
                if (!answers_.count(id)) answer(id, false, action.status().message());
            }
            ++out.actions_failed;
            continue;
        }
        auto seen = answers_.find(action->id);
        if (seen != answers_.end()) {
            // Already carried out: the server has not seen the answer yet.
            if (!seen->second.delivered) continue;
            answer(action->id, seen->second.ok, seen->second.error);
            continue;
        }
        std::string what = std::string(to_string(action->kind)) + " " + action->vm.name;
        held = lock_templates(action->template_ref);
        Status s = carry_out(*action, host_);
        held = {};
        if (s) {
            log(what + ": ok");
            ++out.actions_ok;
        } else {
            log(what + ": " + s.message());
            ++out.actions_failed;
        }
        answer(action->id, s.is_ok(), s.is_ok() ? "" : s.message());
    }
    reconcile_netservices();  // at once: a VM just created, or a service just switched
    return out;
}

std::chrono::milliseconds Dom0Loop::interval() const {
    if (server_interval_.count() > 0) return std::min(options_.interval, server_interval_);
    return options_.interval;
}

int Dom0Loop::run(base::Clock& clock, const std::atomic<bool>* stop) {
    auto start = clock.now();
    auto stopped = [&] { return stop && stop->load(); };
    auto elapsed = [&] {
        return options_.run_for.count() > 0 && clock.now() - start >= options_.run_for;
    };
    while (!stopped()) {
        Dom0Cycle c = cycle();
        if (options_.once) return c.reported ? 0 : 1;
        if (elapsed()) break;
        // Sleep in short steps so a stop request is seen within a fraction of a second.
        auto next = clock.now() + interval();
        while (!stopped() && clock.now() < next && !elapsed()) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next - clock.now());
            clock.sleep_for(std::min(left, std::chrono::milliseconds(100)));
        }
        if (elapsed()) break;
    }
    return 0;
}

}  // namespace provisioner::agent
