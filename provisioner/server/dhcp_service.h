// dnsmasq for DHCP, TFTP and PXE, as provisionerd runs it: the TFTP root laid out from the
// ipxe package, dnsmasq.conf rendered from the config, one dhcp-host file per host in the
// watched hosts directory (so enrolment needs no restart), and dnsmasq kept running by a
// pxe::Supervisor: restarted when it dies, each death logged as a server event.
//
// host_changed/host_removed may be called from any thread. start(), tick() and stop() belong
// to provisionerd's process thread (the one that forks children).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "api.h"
#include "config.h"
#include "provisioner/store.h"
#include "pxe/hosts_directory.h"
#include "pxe/process.h"
#include "pxe/supervisor.h"

namespace provisioner::server {

class DhcpService final : public HostObserver {
  public:
    using Log = std::function<void(const std::string&)>;
    // Lays out STATE/dnsmasq (conf, tftp/, hosts/) and writes every host's entry; an error
    // names what is missing (the ipxe package, a bad address).
    static Result<std::unique_ptr<DhcpService>> prepare(const ServerConfig& config, Store& store,
                                                        pxe::ProcessLauncher& launcher,
                                                        pxe::Clock& clock, Log log);
    ~DhcpService() override;

    Status start();  // ends a dnsmasq left by a killed run, then starts ours
    void tick();     // reaps and restarts dnsmasq; sends SIGHUP when entries were removed
    void stop();

    // A rack server (config.rack): the racks whose hosts dnsmasq answers (RackDhcp) and the
    // inventory's hosts of them as the shared store has them now (another server may have
    // enrolled, changed or removed one): the hosts directory then holds theirs and no other;
    // an unchanged entry is not rewritten, and SIGHUP goes at the next tick when an entry went
    // or changed. Until the first call it holds none.
    Status serve_racks(std::set<std::string> racks, const std::vector<Host>& hosts);

    void host_changed(const Host& host) override;
    void host_removed(const Host& host) override;

    // What is wrong with dnsmasq, for /health: "" while it runs and has not died
    // kDeathsUnhealthy times in a row soon after its start. Any thread.
    std::string problem() const;
    static constexpr int kDeathsUnhealthy = 3;

    // For /metrics, any thread: dnsmasq running as of the last tick, its restarts, and the
    // leases of its lease file unexpired at now_unix (nullopt while the file does not read).
    bool running() const { return running_; }
    int restarts() const { return restarts_; }
    std::optional<std::size_t> active_leases(std::int64_t now_unix) const;
    // The lines of a dnsmasq lease file ("EXPIRY MAC IP NAME CLIENT-ID", EXPIRY 0: never)
    // whose expiry is 0 or after now_unix; a line that does not start with a number is skipped.
    static std::size_t count_active_leases(std::string_view leases, std::int64_t now_unix);

  private:
    DhcpService(std::filesystem::path dir, std::unique_ptr<pxe::Supervisor> supervisor, Log log);

    std::filesystem::path dir_;
    pxe::HostsDirectory hosts_;
    std::unique_ptr<pxe::Supervisor> supervisor_;
    Log log_;
    // Whether host's entry belongs in the hosts directory; under mu_.
    bool answers(const Host& host) const;

    std::mutex mu_;  // hosts_ writes, racks_
    // nullopt: every host (no --rack); else the racks served.
    std::optional<std::set<std::string>> racks_;
    std::atomic<bool> reload_{false};
    // The supervisor's view, copied by tick() for problem() on other threads.
    std::atomic<bool> running_{false};
    std::atomic<int> restarts_{0};
    mutable std::mutex health_mu_;  // guards the two below
    int quick_deaths_ = 0;
    std::string last_exit_;
};

// When provisionerd runs without DHCP (another PXE setup, or API-only tests).
class NoDhcp final : public HostObserver {
  public:
    void host_changed(const Host&) override {}
    void host_removed(const Host&) override {}
};

}  // namespace provisioner::server
