#include "dhcp_service.h"

#include <charconv>
#include <fstream>
#include <sstream>

#include <csignal>
#include <iterator>
#include <map>
#include <set>

#include "base/atomic_file.h"
#include "pxe/boot_files.h"
#include "pxe/dnsmasq_config.h"
#include "pxe/stale_process.h"

namespace provisioner::server {

namespace fs = std::filesystem;

namespace {

pxe::HostEntry entry_of(const Host& host) { return pxe::HostEntry{host.mac, host.ip, host.name}; }

}  // namespace

Result<std::unique_ptr<DhcpService>> DhcpService::prepare(const ServerConfig& config, Store& store,
                                                          pxe::ProcessLauncher& launcher,
                                                          pxe::Clock& clock, Log log) {
    const fs::path dir = fs::absolute(config.state_dir) / "dnsmasq";
    pxe::DnsmasqConfig c;
    c.interface = config.dhcp_interface;
    c.listen_address = config.dhcp_address;
    c.tftp_root = dir / "tftp";
    c.hosts_dir = dir / "hosts";
    c.http_base_url = config.boot_url;  // iPXE fetches its script over plain HTTP
    c.pid_file = dir / "dnsmasq.pid";
    c.lease_file = dir / "dnsmasq.leases";
    c.uefi_boot_file =
        config.uefi_ipxe_efi ? pxe::UefiBootFile::kIpxe : pxe::UefiBootFile::kSnpOnly;
    c.known_hosts_only = !config.rack.empty();
    if (!config.dhcp_range.empty()) {
        auto comma = config.dhcp_range.find(',');
        if (comma == std::string::npos)
            return Status::error(Code::invalid_argument, "--dhcp-range wants START,END");
        c.mode = pxe::FullRange{config.dhcp_range.substr(0, comma),
                                config.dhcp_range.substr(comma + 1), config.dhcp_netmask};
    } else {
        c.mode = pxe::ProxyDhcp{config.proxy_dhcp, config.dhcp_netmask};
    }
    std::error_code ec;
    fs::create_directories(dir, ec);
    fs::permissions(dir, fs::perms(0755), ec);  // dnsmasq reads it as nobody
    // ... and must pass through STATE for that: search (x) only, no listing; every secret in
    // STATE is 0600 (state.h).
    fs::permissions(dir.parent_path(), fs::perms(0711), ec);
    auto conf = pxe::render_dnsmasq_conf(c);
    if (!conf) return conf.status().context("dnsmasq configuration");
    if (auto s = pxe::install_boot_files(c.tftp_root, config.ipxe_dir); !s.is_ok())
        return s.context("TFTP root");
    const fs::path conf_path = dir / "dnsmasq.conf";
    if (auto s = base::write_file_atomically(conf_path, *conf, fs::perms(0644)); !s.is_ok())
        return s.context("dnsmasq.conf");

    pxe::SupervisorOptions options;
    options.argv = pxe::dnsmasq_argv(config.dnsmasq_binary, conf_path);
    options.log = [log, &store](const std::string& line) {
        log(line);
        store.log_event(server_event(line));
    };
    auto supervisor = std::make_unique<pxe::Supervisor>(std::move(options), launcher, clock);
    std::unique_ptr<DhcpService> service(new DhcpService(dir, std::move(supervisor), log));
    if (auto s = service->hosts_.ensure(); !s.is_ok()) return s.context("hosts directory");
    if (!config.rack.empty()) service->racks_.emplace();  // none until RackDhcp says

    // The hosts directory follows the inventory: every host's entry, nobody else's.
    auto hosts = store.list_hosts({});
    if (!hosts) return hosts.status();
    std::set<std::string> wanted;
    for (const Host& h : *hosts) {
        if (!service->answers(h)) continue;
        wanted.insert(pxe::host_entry_file_name(h.mac));
        if (auto s = service->hosts_.put(entry_of(h)); !s.is_ok())
            return s.context("entry of host " + h.name);
    }
    for (const auto& file : fs::directory_iterator(service->hosts_.dir(), ec))
        if (!wanted.contains(file.path().filename().string())) fs::remove(file.path(), ec);
    return service;
}

DhcpService::DhcpService(fs::path dir, std::unique_ptr<pxe::Supervisor> supervisor, Log log)
    : dir_(std::move(dir)),
      hosts_(dir_ / "hosts"),
      supervisor_(std::move(supervisor)),
      log_(std::move(log)) {}

DhcpService::~DhcpService() {
    stop();
}

Status DhcpService::start() {
    const fs::path conf_path = dir_ / "dnsmasq.conf";
    auto stale = pxe::end_stale_process(dir_ / "dnsmasq.pid", "--conf-file=" + conf_path.string());
    if (!stale) return stale.status().context("dnsmasq left by an earlier run");
    if (stale->has_value())
        log_("ended dnsmasq pid " + std::to_string(**stale) + " left by an earlier run");
    return supervisor_->start().context("starting dnsmasq");
}

void DhcpService::tick() {
    supervisor_->poll();
    running_ = supervisor_->pid().has_value();
    restarts_ = supervisor_->restarts();
    {
        std::lock_guard lock(health_mu_);
        quick_deaths_ = supervisor_->quick_deaths();
        last_exit_ = supervisor_->last_exit();
    }
    if (reload_.exchange(false)) {
        if (auto s = supervisor_->signal(SIGHUP); !s.is_ok()) reload_ = true;  // retry next tick
    }
}

std::optional<std::size_t> DhcpService::active_leases(std::int64_t now_unix) const {
    std::ifstream in(dir_ / "dnsmasq.leases");
    if (!in) return std::nullopt;
    std::stringstream text;
    text << in.rdbuf();
    return count_active_leases(text.str(), now_unix);
}

std::size_t DhcpService::count_active_leases(std::string_view leases, std::int64_t now_unix) {
    std::size_t active = 0;
    while (!leases.empty()) {
        auto end = leases.find('\n');
        std::string_view line = leases.substr(0, end);
        leases.remove_prefix(end == std::string_view::npos ? leases.size() : end + 1);
        std::int64_t expiry = 0;
        auto [past, ec] = std::from_chars(line.data(), line.data() + line.size(), expiry);
        if (ec != std::errc() || past == line.data() + line.size() || *past != ' ') continue;
        if (expiry == 0 || expiry > now_unix) ++active;
    }
    return active;
}

std::string DhcpService::problem() const {
    std::lock_guard lock(health_mu_);
    // Running now, but between quick deaths: as wrong as not running.
    if (running_ && quick_deaths_ < kDeathsUnhealthy) return "";
    std::string problem = running_ ? "dnsmasq keeps dying" : "dnsmasq is not running";
    if (quick_deaths_ >= kDeathsUnhealthy)
        problem += ": " + last_exit_ + " (" + std::to_string(quick_deaths_) + " times in a row)";
    return problem + " (restarted " + std::to_string(restarts_.load()) + " times; see the events)";
}

void DhcpService::stop() {
    if (supervisor_) supervisor_->stop();
}

bool DhcpService::answers(const Host& host) const {
    return !racks_ || racks_->contains(host.rack);
}

Status DhcpService::serve_racks(std::set<std::string> racks, const std::vector<Host>& hosts) {
    std::lock_guard lock(mu_);
    racks_ = std::move(racks);
    std::map<std::string, const Host*> wanted;
    for (const Host& h : hosts)
        if (answers(h)) wanted[pxe::host_entry_file_name(h.mac)] = &h;
    std::error_code ec;
    for (const auto& file : fs::directory_iterator(hosts_.dir(), ec)) {
        const std::string name = file.path().filename().string();
        if (name.starts_with('.') || name.ends_with('~') || wanted.contains(name)) continue;
        if (fs::remove(file.path(), ec)) reload_ = true;  // dnsmasq forgets only at SIGHUP
    }
    for (const auto& [name, host] : wanted) {
        auto line = pxe::render_host_entry(entry_of(*host));
        if (!line) return line.status().context("entry of host " + host->name);
        const fs::path path = hosts_.dir() / name;
        std::ifstream in(path);
        std::string current((std::istreambuf_iterator<char>(in)), {});
        if (in.is_open() && current == *line) continue;  // unchanged: no inotify, no reread
        if (auto s = hosts_.put(entry_of(*host)); !s.is_ok())
            return s.context("entry of host " + host->name);
        if (in.is_open()) reload_ = true;  // a changed entry is reread only at SIGHUP
    }
    return Status::ok();
}

void DhcpService::host_changed(const Host& host) {
    std::lock_guard lock(mu_);
    if (!answers(host)) {  // another rack's (or moved to one): not ours to answer
        bool needs_reload = false;
        (void)hosts_.remove(host.mac, &needs_reload);
        if (needs_reload) reload_ = true;
        return;
    }
    bool existed = fs::exists(hosts_.entry_path(host.mac));
    if (auto s = hosts_.put(entry_of(host)); !s.is_ok()) {
        log_("writing the DHCP entry of " + host.name + ": " + s.message());
        return;
    }
    // dnsmasq keeps what it read for a changed entry until SIGHUP.
    if (existed) reload_ = true;
}

void DhcpService::host_removed(const Host& host) {
    std::lock_guard lock(mu_);
    bool needs_reload = false;
    if (auto s = hosts_.remove(host.mac, &needs_reload); !s.is_ok())
        log_("removing the DHCP entry of " + host.name + ": " + s.message());
    if (needs_reload) reload_ = true;
}

}  // namespace provisioner::server
