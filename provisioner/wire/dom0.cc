#include "provisioner/wire/dom0.h"

#include "host_metrics_codec.h"
#include "netservice_codec.h"
#include "reader.h"
#include "vm_metrics_codec.h"

namespace provisioner::wire {

using detail::Need;
using detail::Reader;
using nlohmann::json;

namespace {

void read_capacity(Reader c, Capacity& out) {
    c.unsigned_integer("vcpus", out.vcpus, Need::required);
    c.unsigned_integer("memory_mib", out.memory_mib, Need::required);
    c.number("load", out.load, Need::optional);
    c.unsigned_integer("reserved_vcpus", out.reserved_vcpus, Need::optional);
    c.unsigned_integer("reserved_memory_mib", out.reserved_memory_mib, Need::optional);
    c.string("libvirt_uri", out.libvirt_uri, Need::optional);
    c.boolean("live_migration", out.live_migration, Need::optional);
}

void read_vm(Reader v, ReportedVm& out) {
    v.nonempty_string("name", out.name, Need::required);
    v.unsigned_integer("vcpus", out.vcpus, Need::optional);
    v.unsigned_integer("memory_mib", out.memory_mib, Need::optional);
    v.string("template", out.template_ref, Need::optional);
    v.string("state", out.state, Need::optional);
    v.boolean("restart_pending", out.restart_pending, Need::optional);
    v.string("domain_type", out.domain_type, Need::optional);
    if (Reader metrics = v.child("metrics", Need::optional); metrics.present())
        detail::read_vm_metrics(metrics, out.metrics.emplace());
    if (const json* services = v.array("netservices", Need::optional))
        for (std::size_t i = 0; i < services->size() && v.ok(); ++i)
            detail::read_netservice(v.element("netservices", i, (*services)[i]),
                                    out.netservices.emplace_back());
}

}  // namespace

json encode(const Ready& ready) {
    json out = {{"v", Ready::kVersion}, {"capacity", ready.capacity}};
    if (!ready.mac.empty()) out["mac"] = ready.mac;
    return out;
}

template <>
Result<Ready> decode<Ready>(const json& message) {
    Reader r(Ready::kName, message);
    Ready ready;
    r.version(Ready::kVersion);
    r.nonempty_string("mac", ready.mac, Need::optional);
    r.object("capacity", ready.capacity, Need::required);
    return detail::finish(r, std::move(ready));
}

json encode(const Dom0Report& report) {
    const Capacity& c = report.capacity;
    json vms = json::array();
    for (const ReportedVm& vm : report.vms) {
        json entry = {{"name", vm.name},
                      {"vcpus", vm.vcpus},
                      {"memory_mib", vm.memory_mib},
                      {"template", vm.template_ref},
                      {"state", vm.state}};
        if (vm.restart_pending) entry["restart_pending"] = true;
        if (!vm.domain_type.empty()) entry["domain_type"] = vm.domain_type;
        if (vm.metrics) entry["metrics"] = detail::encode_vm_metrics(*vm.metrics);
        if (!vm.netservices.empty()) {
            json services = json::array();
            for (const NetService& s : vm.netservices) services.push_back(encode(s));
            entry["netservices"] = std::move(services);
        }
        vms.push_back(std::move(entry));
    }
    json out = {{"v", Dom0Report::kVersion},
                {"capacity",
                 {{"vcpus", c.vcpus},
                  {"memory_mib", c.memory_mib},
                  {"load", c.load},
                  {"reserved_vcpus", c.reserved_vcpus},
                  {"reserved_memory_mib", c.reserved_memory_mib},
                  {"libvirt_uri", c.libvirt_uri},
                  {"live_migration", c.live_migration}}},
                {"vms", std::move(vms)}};
    if (!report.mac.empty()) out["mac"] = report.mac;
    if (report.metrics) out["metrics"] = detail::encode_host_metrics(*report.metrics);
    if (!report.templates.empty()) out["templates"] = report.templates;
    return out;
}

template <>
Result<Dom0Report> decode<Dom0Report>(const json& message) {
    Reader r(Dom0Report::kName, message);
    Dom0Report report;
    r.version(Dom0Report::kVersion);
    r.nonempty_string("mac", report.mac, Need::optional);
    read_capacity(r.child("capacity", Need::required), report.capacity);
    if (const json* vms = r.array("vms", Need::optional)) {
        for (std::size_t i = 0; i < vms->size() && r.ok(); ++i)
            read_vm(r.element("vms", i, (*vms)[i]), report.vms.emplace_back());
    }
    if (Reader metrics = r.child("metrics", Need::optional); metrics.present())
        detail::read_host_metrics(metrics, report.metrics.emplace());
    if (const json* templates = r.array("templates", Need::optional)) {
        if (templates->size() > Dom0Report::kMaxTemplates)
            r.fail("templates", "has more than " + std::to_string(Dom0Report::kMaxTemplates) +
                                    " entries");
        for (std::size_t i = 0; i < templates->size() && r.ok(); ++i) {
            const json& t = (*templates)[i];
            const auto at = t.is_string() ? t.get_ref<const std::string&>().find('@')
                                          : std::string::npos;
            if (!t.is_string() || t.get_ref<const std::string&>().size() >
                                      Dom0Report::kMaxTemplateRef ||
                at == 0 || at == std::string::npos ||
                at + 1 == t.get_ref<const std::string&>().size())
                r.fail("templates", "entry " + std::to_string(i) + " is not \"name@version\"");
            else
                report.templates.push_back(t.get<std::string>());
        }
    }
    return detail::finish(r, std::move(report));
}

json encode(const Dom0Answer& answer) {
    json out = {{"v", Dom0Answer::kVersion}, {"actions", answer.actions}};
    if (!answer.templates.is_null()) out["templates"] = answer.templates;
    if (answer.interval_seconds > 0) out["interval_seconds"] = answer.interval_seconds;
    if (answer.netservices) {
        json vms = json::array();
        for (const VmNetServices& vm : *answer.netservices) vms.push_back(encode(vm));
        out["netservices"] = std::move(vms);
    }
    if (!answer.tunnel_key.empty()) out["tunnel_key"] = answer.tunnel_key;
    return out;
}

template <>
Result<Dom0Answer> decode<Dom0Answer>(const json& message) {
    Reader r(Dom0Answer::kName, message);
    Dom0Answer answer;
    r.version(Dom0Answer::kVersion);
    if (const json* actions = r.array("actions", Need::optional))
        answer.actions.assign(actions->begin(), actions->end());
    r.object("templates", answer.templates, Need::optional);
    r.unsigned_integer("interval_seconds", answer.interval_seconds, Need::optional);
    const bool has_netservices = message.is_object() && message.contains("netservices") &&
                                 !message["netservices"].is_null();
    if (has_netservices) {
        const json* vms = r.array("netservices", Need::optional);
        answer.netservices.emplace();
        for (std::size_t i = 0; vms && i < vms->size() && r.ok(); ++i)
            detail::read_vm_netservices(r.element("netservices", i, (*vms)[i]),
                                        answer.netservices->emplace_back());
    }
    r.string("tunnel_key", answer.tunnel_key, Need::optional);
    if (r.ok() && message.is_object() && message.contains("tunnel_key") &&
        (answer.tunnel_key.size() != 64 ||
         answer.tunnel_key.find_first_not_of("0123456789abcdef") != std::string::npos))
        r.fail("tunnel_key", "is not 64 lowercase hex digits");
    return detail::finish(r, std::move(answer));
}

json encode(const ActionAnswer& answer) {
    json out = {{"v", ActionAnswer::kVersion}, {"ok", answer.ok}};
    if (!answer.error.empty()) out["error"] = answer.error;
    return out;
}

template <>
Result<ActionAnswer> decode<ActionAnswer>(const json& message) {
    Reader r(ActionAnswer::kName, message);
    ActionAnswer answer;
    r.version(ActionAnswer::kVersion);
    r.boolean("ok", answer.ok, Need::required);
    r.string("error", answer.error, Need::optional);
    return detail::finish(r, std::move(answer));
}

}  // namespace provisioner::wire
