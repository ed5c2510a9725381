// Hypervisor on libvirt's C API. Every libvirt object is held by a unique_ptr with libvirt's
// free function, every failure becomes a Status carrying libvirt's last error message.
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <pugixml.hpp>

#include "provisioner/vmhost/domain_xml.h"
#include "provisioner/vmhost/hypervisor.h"
#include "libvirt_stats.h"

namespace provisioner::vmhost {

namespace {

struct ConnectionCloser {
    void operator()(virConnectPtr c) const { virConnectClose(c); }
};
struct DomainFreer {
    void operator()(virDomainPtr d) const { virDomainFree(d); }
};
using Connection = std::unique_ptr<virConnect, ConnectionCloser>;
using Domain = std::unique_ptr<virDomain, DomainFreer>;

// libvirt's flags are enumerators of different enums; C++20 frowns on mixing them.
constexpr unsigned kConfig = VIR_DOMAIN_AFFECT_CONFIG;
constexpr unsigned kLive = VIR_DOMAIN_AFFECT_LIVE;
constexpr unsigned kVcpuMaximum = VIR_DOMAIN_VCPU_MAXIMUM;
constexpr unsigned kMemMaximum = VIR_DOMAIN_MEM_MAXIMUM;

void ignore_error(void*, virErrorPtr) {}

// libvirt prints every error to stderr unless a handler is set; ours drops them, because
// each one is returned as a Status from the call that failed.
void init_libvirt() {
    static std::once_flag once;
    std::call_once(once, [] {
        virInitialize();
        virSetErrorFunc(nullptr, ignore_error);
    });
}

Code code_for(int libvirt_code) {
    switch (libvirt_code) {
        case VIR_ERR_NO_DOMAIN:
            return Code::not_found;
        case VIR_ERR_DOM_EXIST:
            return Code::conflict;
        case VIR_ERR_XML_ERROR:
        case VIR_ERR_XML_DETAIL:
        case VIR_ERR_INVALID_ARG:
        case VIR_ERR_CONFIG_UNSUPPORTED:
            return Code::invalid_argument;
        case VIR_ERR_OPERATION_INVALID:
        case VIR_ERR_NO_SUPPORT:
        case VIR_ERR_ARGUMENT_UNSUPPORTED:
        case VIR_ERR_OPERATION_UNSUPPORTED:
            return Code::illegal_transition;
        default:
            return Code::storage;
    }
}

// The calling thread's last libvirt error as a Status: "what: libvirt's message".
Status libvirt_error(const std::string& what) {
    virErrorPtr e = virGetLastError();
    Status s =
        Status::error(e ? code_for(e->code) : Code::storage,
                      what + ": " + (e && e->message ? e->message : "unknown libvirt error"));
    virResetLastError();
    return s;
}

DomainState state_of(unsigned char state) {
    switch (state) {
        case VIR_DOMAIN_RUNNING:
        case VIR_DOMAIN_BLOCKED:
            return DomainState::running;
        case VIR_DOMAIN_PAUSED:
        case VIR_DOMAIN_PMSUSPENDED:
            return DomainState::paused;
        case VIR_DOMAIN_SHUTOFF:
            return DomainState::shut_off;
        case VIR_DOMAIN_CRASHED:
            return DomainState::crashed;
        default:
            return DomainState::other;
    }
}

Result<std::string> xml_of(virDomainPtr dom, unsigned flags, const std::string& name) {
    char* xml = virDomainGetXMLDesc(dom, flags);
    if (!xml) return libvirt_error("reading the XML of domain '" + name + "'");
    std::string text(xml);
    free(xml);  // NOLINT: libvirt allocates with malloc
    return text;
}

// The kind of a domain from its XML; nullopt for a type this code never creates.
std::optional<DomainKind> kind_of(pugi::xml_node domain) {
    const std::string type = domain.attribute("type").value();
    if (type == "kvm") return DomainKind::kvm;
    if (type == "qemu") return DomainKind::qemu;
    if (type == "test") return DomainKind::test;
    if (type != "xen") return std::nullopt;
    const std::string os = domain.child("os").child("type").text().get();
    return os == "hvm" ? DomainKind::xen_hvm : DomainKind::xen_pv;
}

class LibvirtHypervisor final : public Hypervisor {
  public:
    LibvirtHypervisor(Connection conn, KindChoice kind)
        : conn_(std::move(conn)), kind_(kind.kind), kind_reason_(std::move(kind.why)) {}

    DomainKind kind() const override { return kind_; }
    const std::string& kind_reason() const override { return kind_reason_; }

    Status create(const VmSpec& spec) override {
        auto xml = render_domain_xml(spec, kind_);
        if (!xml) return xml.status();
        if (Domain existing{virDomainLookupByName(conn_.get(), spec.name.c_str())})
            return Status::error(Code::conflict, "domain '" + spec.name + "' already exists");
        virResetLastError();
        Domain dom{virDomainDefineXML(conn_.get(), xml->c_str())};
        if (!dom) return libvirt_error("defining domain '" + spec.name + "'");
        Status s = set_autostart(dom.get(), true, spec.name);
        if (s && virDomainCreate(dom.get()) != 0)
            s = libvirt_error("starting domain '" + spec.name + "'");
        if (!s) {
            virDomainUndefine(dom.get());
            virResetLastError();
        }
        return s;
    }

    Status destroy(const std::string& name) override {
        auto dom = lookup(name);
        if (!dom) return dom.status();
        int active = virDomainIsActive(dom->get());
        if (active < 0) return libvirt_error("reading the state of domain '" + name + "'");
        if (active == 1 && virDomainDestroy(dom->get()) != 0)
            return libvirt_error("stopping domain '" + name + "'");
        int persistent = virDomainIsPersistent(dom->get());
        if (persistent == 1 && virDomainUndefineFlags(dom->get(), undefine_flags) != 0) {
            // Drivers that know none of these flags (the test driver among them) refuse them.
            virResetLastError();
            if (virDomainUndefine(dom->get()) != 0)
                return libvirt_error("undefining domain '" + name + "'");
        }
        return Status::ok();
    }

    Status shutdown(const std::string& name) override {
        if (Status s = autostart(name, false); !s) return s;
        return when_active(name, true, "shutting down", virDomainShutdown);
    }

    Status power_off(const std::string& name) override {
        if (Status s = autostart(name, false); !s) return s;
        return when_active(name, true, "powering off", virDomainDestroy);
    }

    Status start(const std::string& name) override {
        if (Status s = when_active(name, false, "starting", virDomainCreate); !s) return s;
        return autostart(name, true);
    }

    Result<Applied> set_vcpus(const std::string& name, unsigned vcpus) override {
        auto dom = lookup(name);
        if (!dom) return dom.status();
        const std::string what = "setting " + std::to_string(vcpus) + " vCPUs on '" + name + "'";
        if (vcpus == 0) return Status::error(Code::invalid_argument, what + ": at least 1");
        virDomainPtr d = dom->get();
        if (virDomainIsPersistent(d) == 1) {
            int max = virDomainGetVcpusFlags(d, kConfig | kVcpuMaximum);
            if (max < 0) return libvirt_error(what);
            if (vcpus > unsigned(max) &&
                virDomainSetVcpusFlags(d, vcpus, kConfig | kVcpuMaximum) != 0)
                return libvirt_error(what);
            if (virDomainSetVcpusFlags(d, vcpus, kConfig) != 0) return libvirt_error(what);
            return apply_live(d, what, [&] { return virDomainSetVcpusFlags(d, vcpus, kLive); });
        }
        if (virDomainSetVcpusFlags(d, vcpus, kLive) != 0) return libvirt_error(what);
        return Applied::live_and_config;
    }

    Result<Applied> set_memory(const std::string& name, std::uint64_t mib) override {
        auto dom = lookup(name);
        if (!dom) return dom.status();
        const std::string what = "setting " + std::to_string(mib) + " MiB on '" + name + "'";
        if (mib == 0) return Status::error(Code::invalid_argument, what + ": at least 1 MiB");
        virDomainPtr d = dom->get();
        const unsigned long kib = static_cast<unsigned long>(mib * 1024);
        if (virDomainIsPersistent(d) == 1) {
            auto max = config_max_memory_kib(d, name);
            if (!max) return max.status();
            if (kib > *max && virDomainSetMemoryFlags(d, kib, kConfig | kMemMaximum) != 0)
                return libvirt_error(what);
            if (virDomainSetMemoryFlags(d, kib, kConfig) != 0) return libvirt_error(what);
            return apply_live(d, what, [&] { return virDomainSetMemoryFlags(d, kib, kLive); });
        }
        if (virDomainSetMemoryFlags(d, kib, kLive) != 0) return libvirt_error(what);
        return Applied::live_and_config;
    }

    Status migrate(const std::string& name, const std::string& dest_uri,
                   const MigrateOptions& options) override {
        auto dom = lookup(name);
        if (!dom) return dom.status();
        const std::string what = "migrating domain '" + name + "' to " + dest_uri;
        Connection dest{virConnectOpen(dest_uri.c_str())};
        if (!dest) return libvirt_error(what);
        unsigned flags = VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE;
        if (options.live) flags |= VIR_MIGRATE_LIVE;
        if (options.copy_overlay) flags |= VIR_MIGRATE_NON_SHARED_INC;
        Domain moved{virDomainMigrate3(dom->get(), dest.get(), nullptr, 0, flags)};
        if (!moved) return libvirt_error(what);
        return set_autostart(moved.get(), true, name);  // autostart stays with the source
    }

    Result<DomainInfo> get(const std::string& name) override {
        auto dom = lookup(name);
        if (!dom) return dom.status();
        return info_of(dom->get());
    }

    Result<std::vector<DomainInfo>> list() override {
        virDomainPtr* doms = nullptr;
        int n = virConnectListAllDomains(conn_.get(), &doms, 0);
        if (n < 0) return libvirt_error("listing domains");
        std::vector<Domain> owned;
        for (int i = 0; i < n; ++i) owned.emplace_back(doms[i]);
        free(doms);  // NOLINT: libvirt allocates with malloc
        std::vector<DomainInfo> out;
        for (const auto& d : owned) {
            auto info = info_of(d.get());
            // A domain undefined between the listing and this call is simply gone.
            if (!info && info.status().code() == Code::not_found) continue;
            if (!info) return info.status();
            out.push_back(std::move(*info));
        }
        std::sort(out.begin(), out.end(),
                  [](const DomainInfo& a, const DomainInfo& b) { return a.name < b.name; });
        return out;
    }

    Result<DomainStats> stats(const std::string& name) override {
        auto dom = lookup(name);
        if (!dom) return dom.status();
        auto stats = read_domain_stats(dom->get());
        if (!stats) return libvirt_error("reading the statistics of domain '" + name + "'");
        return std::move(*stats);
    }

  private:
    static constexpr unsigned undefine_flags =
        VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
        VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | VIR_DOMAIN_UNDEFINE_NVRAM;

    Result<Domain> lookup(const std::string& name) {
        Domain dom{virDomainLookupByName(conn_.get(), name.c_str())};
        if (!dom) return libvirt_error("domain '" + name + "'");
        return dom;
    }

    // Whether the hypervisor starts the domain when it starts. A transient domain has no such
    // mark (it does not outlive its hypervisor): ok, nothing to set.
    Status set_autostart(virDomainPtr d, bool on, const std::string& name) {
        if (virDomainIsPersistent(d) != 1) return Status::ok();
        if (virDomainSetAutostart(d, on ? 1 : 0) != 0)
            return libvirt_error(std::string(on ? "marking" : "unmarking") + " domain '" + name +
                                 "' to start with its hypervisor");
        return Status::ok();
    }
    Status autostart(const std::string& name, bool on) {
        auto dom = lookup(name);
        if (!dom) return dom.status();
        return set_autostart(dom->get(), on, name);
    }

    // Calls change(domain) when the domain's activity is `active`; ok (nothing to do) otherwise.
    Status when_active(const std::string& name, bool active, const char* what,
                       int (*change)(virDomainPtr)) {
        auto dom = lookup(name);
        if (!dom) return dom.status();
        int is_active = virDomainIsActive(dom->get());
        if (is_active < 0) return libvirt_error("reading the state of domain '" + name + "'");
        if ((is_active == 1) != active) return Status::ok();
        if (change(dom->get()) != 0)
            return libvirt_error(std::string(what) + " domain '" + name + "'");
        return Status::ok();
    }

    // The config is already changed: a refused live change means "at the next start".
    template <class F>
    Result<Applied> apply_live(virDomainPtr d, const std::string& what, F&& set_live) {
        int active = virDomainIsActive(d);
        if (active < 0) return libvirt_error(what);
        if (active == 0) return Applied::config_only;
        if (set_live() != 0) {
            virResetLastError();
            return Applied::config_only;
        }
        return Applied::live_and_config;
    }

    Result<unsigned long> config_max_memory_kib(virDomainPtr d, const std::string& name) {
        auto xml = xml_of(d, VIR_DOMAIN_XML_INACTIVE, name);
        if (!xml) return xml.status();
        pugi::xml_document doc;
        if (!doc.load_string(xml->c_str()))
            return Status::error(Code::storage, "domain '" + name + "': unreadable XML");
        // libvirt always writes <memory unit='KiB'>.
        return doc.child("domain").child("memory").text().as_ullong();
    }

    Result<DomainInfo> info_of(virDomainPtr d) {
        DomainInfo info;
        const char* name = virDomainGetName(d);
        info.name = name ? name : "";
        char uuid[VIR_UUID_STRING_BUFLEN];
        if (virDomainGetUUIDString(d, uuid) == 0) info.uuid = uuid;
        virDomainInfo raw;
        if (virDomainGetInfo(d, &raw) != 0) return libvirt_error("domain '" + info.name + "'");
        info.state = state_of(raw.state);
        info.vcpus = raw.nrVirtCpu;
        info.memory_mib = raw.memory / 1024;
        info.max_memory_mib = raw.maxMem / 1024;
        info.persistent = virDomainIsPersistent(d) == 1;
        int autostart = 0;
        info.autostart = info.persistent && virDomainGetAutostart(d, &autostart) == 0 && autostart;
        virResetLastError();
        auto xml = xml_of(d, 0, info.name);
        if (!xml) return xml.status();
        pugi::xml_document doc;
        if (doc.load_string(xml->c_str())) {
            info.kind = kind_of(doc.child("domain"));
            for (auto disk : doc.child("domain").child("devices").children("disk")) {
                auto source = disk.child("source");
                std::string path = source.attribute("file").value();
                if (path.empty()) path = source.attribute("dev").value();
                if (!path.empty()) info.disks.push_back(path);
            }
        }
        return info;
    }

    Connection conn_;
    DomainKind kind_;
    std::string kind_reason_;
};

}  // namespace

const char* to_string(DomainState state) {
    switch (state) {
        case DomainState::running:
            return "running";
        case DomainState::paused:
            return "paused";
        case DomainState::shut_off:
            return "shut off";
        case DomainState::crashed:
            return "crashed";
        case DomainState::other:
            return "other";
    }
    return "unknown";
}

Result<std::unique_ptr<Hypervisor>> open_libvirt(const std::string& uri,
                                                 const OpenOptions& options) {
    auto driver = driver_for_uri(uri);
    if (!driver) return driver.status();
    init_libvirt();
    Connection conn{virConnectOpen(uri.c_str())};
    if (!conn) return libvirt_error("connecting to " + uri);
    std::string capabilities;
    if (*driver != Driver::test) {
        char* caps = virConnectGetCapabilities(conn.get());
        if (!caps) return libvirt_error("reading the capabilities of " + uri);
        capabilities = caps;
        free(caps);  // NOLINT: libvirt allocates with malloc
    }
    KindChoice kind = choose_domain_kind(*driver, options.accel, capabilities,
                                         [&] { return probe_kvm(options.root); });
    return std::unique_ptr<Hypervisor>(
        std::make_unique<LibvirtHypervisor>(std::move(conn), std::move(kind)));
}

}  // namespace provisioner::vmhost
