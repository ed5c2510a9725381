#include "libvirt_stats.h"

#include <libvirt/virterror.h>

#include <cstdlib>
#include <memory>
#include <pugixml.hpp>
#include <vector>

namespace provisioner::vmhost {
namespace {

constexpr unsigned kCurrent = VIR_DOMAIN_AFFECT_CURRENT;

std::vector<SchedulerParam> scheduler_params(virDomainPtr dom) {
    int count = 0;
    char* type = virDomainGetSchedulerType(dom, &count);
    if (!type) {
        virResetLastError();
        return {};
    }
    free(type);  // NOLINT: libvirt allocates with malloc
    if (count <= 0) return {};
    std::vector<virTypedParameter> params(static_cast<std::size_t>(count));
    // Not ...Flags(): libvirt adds VIR_TYPED_PARAM_STRING_OKAY to its flags, which some drivers
    // (the test driver among them) refuse; this one reads the live values of a running domain.
    if (virDomainGetSchedulerParameters(dom, params.data(), &count) != 0) {
        virResetLastError();
        return {};
    }
    std::vector<SchedulerParam> out;
    for (int i = 0; i < count; ++i) {
        const virTypedParameter& p = params[std::size_t(i)];
        SchedulerParam param;
        param.field = p.field;
        switch (p.type) {
            case VIR_TYPED_PARAM_INT: param.value = p.value.i; break;
            case VIR_TYPED_PARAM_UINT: param.value = p.value.ui; break;
            case VIR_TYPED_PARAM_LLONG: param.value = double(p.value.l); break;
            case VIR_TYPED_PARAM_ULLONG: param.value = double(p.value.ul); break;
            case VIR_TYPED_PARAM_DOUBLE: param.value = p.value.d; break;
            case VIR_TYPED_PARAM_BOOLEAN: param.value = p.value.b ? 1 : 0; break;
            default: continue;  // a string
        }
        out.push_back(std::move(param));
    }
    virTypedParamsClear(params.data(), count);
    return out;
}

// The targets of the domain's disks (with their sources) and interfaces, from its live XML.
void devices(virDomainPtr dom, DomainStats& out) {
    char* xml = virDomainGetXMLDesc(dom, 0);
    if (!xml) {
        virResetLastError();
        return;
    }
    pugi::xml_document doc;
    bool parsed = bool(doc.load_string(xml));
    free(xml);  // NOLINT: libvirt allocates with malloc
    if (!parsed) return;
    pugi::xml_node devs = doc.child("domain").child("devices");
    for (pugi::xml_node disk : devs.children("disk")) {
        std::string target = disk.child("target").attribute("dev").value();
        if (target.empty()) continue;
        pugi::xml_node source = disk.child("source");
        std::string path = source.attribute("file").value();
        if (path.empty()) path = source.attribute("dev").value();
        BlockStats& stats = out.disks.emplace_back();
        stats.target = std::move(target);
        stats.source = std::move(path);
    }
    for (pugi::xml_node nic : devs.children("interface")) {
        std::string device = nic.child("target").attribute("dev").value();
        if (device.empty()) device = nic.child("mac").attribute("address").value();
        if (!device.empty()) out.interfaces.emplace_back().device = std::move(device);
    }
}

}  // namespace

std::optional<DomainStats> read_domain_stats(virDomainPtr dom) {
    DomainStats out;
    const char* name = virDomainGetName(dom);
    out.name = name ? name : "";
    char uuid[VIR_UUID_STRING_BUFLEN];
    if (virDomainGetUUIDString(dom, uuid) == 0) out.uuid = uuid;
    virDomainInfo info;
    if (virDomainGetInfo(dom, &info) != 0) return std::nullopt;
    out.state = info.state;
    out.cpu_time_ns = info.cpuTime;
    out.max_memory_kib = info.maxMem;
    out.memory_kib = info.memory;
    out.vcpus = info.nrVirtCpu;
    out.max_vcpus = virDomainGetVcpusFlags(dom, kCurrent | VIR_DOMAIN_VCPU_MAXIMUM);
    if (out.max_vcpus < 0) virResetLastError();
    out.scheduler = scheduler_params(dom);
    if (virDomainIsActive(dom) != 1) {
        virResetLastError();
        return out;
    }
    devices(dom, out);
    for (BlockStats& disk : out.disks) {
        virDomainBlockStatsStruct s;
        if (virDomainBlockStats(dom, disk.target.c_str(), &s, sizeof s) != 0) {
            virResetLastError();
            continue;  // left at -1: unknown
        }
        disk.rd_req = s.rd_req;
        disk.rd_bytes = s.rd_bytes;
        disk.wr_req = s.wr_req;
        disk.wr_bytes = s.wr_bytes;
    }
    for (InterfaceStats& nic : out.interfaces) {
        virDomainInterfaceStatsStruct s;
        if (virDomainInterfaceStats(dom, nic.device.c_str(), &s, sizeof s) != 0) {
            virResetLastError();
            continue;
        }
        nic.rx_bytes = s.rx_bytes;
        nic.rx_packets = s.rx_packets;
        nic.rx_errs = s.rx_errs;
        nic.rx_drop = s.rx_drop;
        nic.tx_bytes = s.tx_bytes;
        nic.tx_packets = s.tx_packets;
        nic.tx_errs = s.tx_errs;
        nic.tx_drop = s.tx_drop;
    }
    return out;
}

}  // namespace provisioner::vmhost
