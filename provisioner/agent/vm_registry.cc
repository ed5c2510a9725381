#include "provisioner/agent/vm_registry.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

#include "base/atomic_file.h"
#include "base/json.h"

namespace provisioner::agent {
namespace {

// The registry is ours, but it is a file on a disk that outlives us: read it with limits.
const base::JsonLimits kRegistryLimits{64 << 20, 16};

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kFileName = "vms.json";

Status storage_error(const std::string& what) {
    return Status::error(Code::storage, what);
}

json spec_to_json(const vmhost::VmSpec& spec) {
    json interfaces = json::array();
    for (const vmhost::InterfaceSpec& nic : spec.interfaces) {
        json i{{"mac", nic.mac}, {"network", nic.network}, {"bridge", nic.bridge}};
        if (nic.vlan) i["vlan"] = *nic.vlan;
        interfaces.push_back(std::move(i));
    }
    return {{"uuid", spec.uuid},
            {"vcpus", spec.vcpus},
            {"memory_mib", spec.memory_mib},
            {"disk_format", spec.disk.format},
            {"interfaces", std::move(interfaces)},
            {"oem_strings", spec.oem_strings}};
}

// Throws nlohmann's type_error or out_of_range on a field of the wrong type; open() turns that
// into its "bad entry".
vmhost::VmSpec spec_from_json(const std::string& name, const fs::path& disk, const json& j) {
    vmhost::VmSpec spec;
    spec.name = name;
    spec.uuid = j.value("uuid", "");
    spec.vcpus = j.at("vcpus").get<unsigned>();
    spec.memory_mib = j.at("memory_mib").get<std::uint64_t>();
    spec.disk = {disk, j.value("disk_format", "qcow2")};
    for (const json& i : j.value("interfaces", json::array())) {
        vmhost::InterfaceSpec nic;
        nic.mac = i.at("mac").get<std::string>();
        nic.network = i.value("network", "");
        nic.bridge = i.value("bridge", "");
        if (i.contains("vlan")) nic.vlan = i["vlan"].get<std::uint16_t>();
        spec.interfaces.push_back(std::move(nic));
    }
    spec.oem_strings = j.value("oem_strings", std::vector<std::string>{});
    return spec;
}

}  // namespace

Result<std::unique_ptr<VmRegistry>> VmRegistry::open(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return storage_error("creating " + dir.string() + ": " + ec.message());
    // Absolute, because the domain XML names the disks by absolute path.
    fs::path absolute = fs::absolute(dir).lexically_normal();
    if (!absolute.has_filename()) absolute = absolute.parent_path();  // "/var/disks/"
    std::unique_ptr<VmRegistry> registry(new VmRegistry(absolute));
    fs::path file = dir / kFileName;
    if (!fs::exists(file, ec)) return registry;
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) return storage_error("reading " + file.string());
    json parsed = base::parse_json(text.str(), kRegistryLimits).value;
    if (!parsed.is_object() || !parsed.contains("vms") || !parsed["vms"].is_object())
        return storage_error(file.string() + ": not a VM registry");
    for (const auto& [name, entry] : parsed["vms"].items()) {
        if (!entry.is_object()) return storage_error(file.string() + ": bad entry " + name);
        try {
            ManagedVm vm{entry.value("template", ""), entry.value("disk", ""),
                         entry.value("pending_vcpus", 0u),
                         entry.value("pending_memory_mib", std::uint64_t(0)),
                         entry.value("vlans", std::vector<std::uint16_t>{})};
            if (entry.contains("spec")) vm.spec = spec_from_json(name, vm.disk, entry["spec"]);
            registry->vms_[name] = std::move(vm);
        } catch (const json::exception& e) {
            return storage_error(file.string() + ": bad entry " + name + ": " + e.what());
        }
    }
    return registry;
}

const ManagedVm* VmRegistry::find(const std::string& name) const {
    auto it = vms_.find(name);
    return it == vms_.end() ? nullptr : &it->second;
}

Status VmRegistry::put(const std::string& name, ManagedVm vm) {
    auto next = vms_;
    next[name] = std::move(vm);
    Status s = save(next);
    if (s) vms_ = std::move(next);
    return s;
}

Status VmRegistry::erase(const std::string& name) {
    if (!vms_.count(name)) return Status::ok();
    auto next = vms_;
    next.erase(name);
    Status s = save(next);
    if (s) vms_ = std::move(next);
    return s;
}

fs::path VmRegistry::disk_path(const std::string& name) const {
    return dir_ / (name + ".qcow2");
}

Status VmRegistry::save(const std::map<std::string, ManagedVm>& vms) const {
    json body{{"vms", json::object()}};
    for (const auto& [name, vm] : vms) {
        json entry{{"template", vm.template_ref}, {"disk", vm.disk.string()}};
        if (vm.pending_vcpus) entry["pending_vcpus"] = vm.pending_vcpus;
        if (vm.pending_memory_mib) entry["pending_memory_mib"] = vm.pending_memory_mib;
        if (!vm.vlans.empty()) entry["vlans"] = vm.vlans;
        if (vm.spec) entry["spec"] = spec_to_json(*vm.spec);
        body["vms"][name] = entry;
    }
    return base::write_private_file(dir_ / kFileName, body.dump(2) + "\n");
}

}  // namespace provisioner::agent
