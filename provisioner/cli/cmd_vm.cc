// vm list | recall | guest: the VMs the Dom0 agents report with their services' states,
// removing them in batch, and what a VM's guest agent needs.
#include <memory>

#include "commands.h"
#include "output/format.h"
#include "output/table.h"

namespace provisioner::cli {
namespace {

// SO-MVDS's states as words: "vm_ready" -> "vm ready".
std::string state_words(std::string state) {
    for (char& c : state)
        if (c == '_') c = ' ';
    return state;
}

// "nginx: service available at 10.0.10.11:8080, redis: failed (…)"; "-" without services.
std::string services_cell(const nlohmann::json& vm) {
    auto services = vm.find("services");
    if (services == vm.end() || !services->is_array() || services->empty()) return "-";
    std::string cell;
    for (const auto& svc : *services) {
        if (!cell.empty()) cell += ", ";
        cell += text(field(svc, "package")) + ": " + state_words(text(field(svc, "state")));
        if (svc.contains("access")) cell += " at " + text(field(svc, "access"));
        if (svc.contains("error")) cell += " (" + text(field(svc, "error")) + ")";
    }
    return cell;
}

// A VM gone from its host's report with no action for it shows what it was; a resize that
// waits for the VM's next start says so.
std::string state_cell(const nlohmann::json& vm) {
    if (field(vm, "restart_pending") == true) return text(field(vm, "state")) + " (restart pending)";
    if (field(vm, "missing") != true) return text(field(vm, "state"));
    return "MISSING (was " + text(field(vm, "last_state")) + ")";
}

// How the VM runs: libvirt's domain type, TCG spelled out (its type is 'qemu'); "-" when the
// agent does not say.
std::string domain_type_cell(const nlohmann::json& vm) {
    if (!vm.contains("domain_type")) return "-";
    std::string type = text(field(vm, "domain_type"));
    return type == "qemu" ? "qemu (TCG)" : type;
}

int vm_list(Session& s) {
    auto r = s.api().get("/api/v1/vms");
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    const auto& vms = field(r.json(), "vms");
    if (vms.empty()) {
        s.err() << "no VMs reported; apply a site with: provisioner site apply FILE\n";
        return kExitOk;
    }
    Table table({"NAME", "HOST", "TYPE", "VCPUS", "MEMORY", "TEMPLATE", "STATE", "SERVICES"});
    for (const auto& vm : vms) {
        table.add_row({text(field(vm, "name")), text(field(vm, "host")), domain_type_cell(vm),
                       text(field(vm, "vcpus")), text(field(vm, "memory_mib")) + " MiB",
                       text(field(vm, "template")), state_cell(vm), services_cell(vm)});
    }
    table.align_right(3);
    table.align_right(4);
    s.out() << table.render();
    bool heading = false;  // the network services installed now, when any VM has one
    for (const auto& vm : vms) {
        const auto& net = field(vm, "netservices");
        if (!net.is_array() || net.empty()) continue;
        if (!heading) s.out() << "network services in Dom0:\n";
        heading = true;
        for (const auto& service : net)
            s.out() << "  " << text(field(vm, "name")) << ": " << text(field(service, "text"))
                    << "\n";
    }
    return kExitOk;
}

int vm_recall(Session& s, const std::string& selector) {
    auto r = s.api().post("/api/v1/vms/recall", {{"selector", selector}});
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    const auto& actions = field(r.json(), "actions");
    const auto& forgotten = field(r.json(), "forgotten");
    if (forgotten.is_array() && !forgotten.empty()) {
        s.out() << "no longer flagged missing:";
        for (const auto& name : forgotten) s.out() << " " << text(name);
        s.out() << "\n";
    }
    if (actions.empty()) {
        if (forgotten.is_array() && !forgotten.empty()) return kExitOk;
        s.err() << "no reported VM matches '" << selector << "'; nothing to recall\n";
        return kExitOk;
    }

    s.out() << "recalling " << actions.size() << (actions.size() == 1 ? " VM:" : " VMs:");
    for (const auto& action : actions) s.out() << " " << text(field(field(action, "vm"), "name"));
    s.out() << "\n";
    return kExitOk;
}

int vm_guest(Session& s, const std::string& name) {
    auto r = s.api().get("/api/v1/vms/" + name + "/guest");
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    s.out() << text(field(r.json(), "cmdline")) << "\n";
    return kExitOk;
}

}  // namespace

void add_vm_commands(CLI::App& app, Action& chosen) {
    auto* vm = app.add_subcommand("vm", "List the VMs the hosts report with their services, recall them, show their metrics history");
    vm->require_subcommand(1);
    auto* list = vm->add_subcommand("list", "List the reported VMs as a table")->alias("ls");
    on_run(list, chosen, [](Session& s) { return vm_list(s); });

    auto selector = std::make_shared<std::string>();
    auto* recall = vm->add_subcommand("recall", "Destroy the VMs whose names match, on every host");
    recall->add_option("SELECTOR", *selector, "a name glob (web-*), or all")->required();
    on_run(recall, chosen, [selector](Session& s) { return vm_recall(s, *selector); });

    auto name = std::make_shared<std::string>();
    auto* guest = vm->add_subcommand(
        "guest", "Print what NAME's guest agent reads (provisioner-agent guest --cmdline FILE), "
                 "for guests without SMBIOS (Xen PV)");
    guest->add_option("NAME", *name, "the VM's name in the site file")->required();
    on_run(guest, chosen, [name](Session& s) { return vm_guest(s, *name); });
    add_vm_metrics_command(vm, chosen);
}

}  // namespace provisioner::cli
