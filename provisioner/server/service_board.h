// The services of the site's VMs (SO-MVDS's service deployment, API.md "Services in VMs"):
// what the last applied site wants installed in each VM, and what each VM's guest agent last
// reported about them.
//
// The guests do the work; the board only answers a guest with its VM's services and keeps its
// reports, so that `vm list` can show SO-MVDS's four states. A VM whose guest has not reported
// within the stale time (or ever) is "vm_unavailable", whatever it said last.
//
// Durable: the desired services (the store's setting kDesiredSetting) and every guest's last
// report (guest_reports) are written to the store before a change returns; load() reads them
// back at start. Thread-safe: every member takes the one mutex, and a change holds it across its
// store write (one row).
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "provisioner/records.h"
#include "provisioner/site.h"
#include "provisioner/status.h"
#include "provisioner/store.h"

namespace provisioner::server {

// A service's state as a guest reports it, in SO-MVDS's order (vm_unavailable is the board's).
enum class ServiceState { vm_unavailable, vm_ready, container_ready, service_available, failed };
const char* to_string(ServiceState state);
// invalid_argument for anything but the four states a guest may report (not vm_unavailable).
Result<ServiceState> parse_guest_state(const std::string& text);

struct ServiceReport {
    std::string package;
    ServiceState state = ServiceState::vm_ready;
    std::string error;   // failed only
    std::string access;  // "ADDRESS:PORT" once available, when the service has a port
};

// A VM's services as `vm list` shows them.
struct VmServices {
    std::vector<ServiceReport> services;  // the site's, in file order, with the guest's states
    ServiceState summary = ServiceState::vm_unavailable;  // failed, else the least advanced
    std::string address;                                  // the guest's, from its last report
};

class ServiceBoard {
  public:
    // stale_after: milliseconds without a report after which a guest counts as unavailable
    // (3 of the guests' 30 s intervals).
    // store outlives this.
    static constexpr const char* kDesiredSetting = "services.desired";
    explicit ServiceBoard(Store& store, Timestamp stale_after = 90'000)
        : store_(store), stale_after_(stale_after) {}

    // Replaces what the board holds with the store's; false when the store holds no desired
    // services yet (a state directory from before they were kept there).
    Result<bool> load();

    // The VMs whose services site would change, by name: services added, removed, or a
    // package or parameter that differs (where the file says it does not count).
    std::vector<std::string> changes(const site::Site& site) const;
    // The desired services become the site's (VMs without services are dropped). Returns the
    // VMs whose services changed, as changes() says; storage when they could not be kept.
    Result<std::vector<std::string>> set_site(const site::Site& site);

    // Records a guest's report of vm; the VM's desired services (empty when the site has none
    // for it: the guest then has nothing to do); storage when the report could not be kept.
    Result<std::vector<site::Service>> report(const std::string& vm, const std::string& address,
                                              std::vector<ServiceReport> services, Timestamp now);

    // The VM's services with the guest's states as of now; nullopt when the site gives it none.
    std::optional<VmServices> view(const std::string& vm, Timestamp now) const;
    // Every desired service of every VM counted by its state as of now (GET /metrics).
    std::map<ServiceState, std::size_t> counts(Timestamp now) const;

  private:
    struct GuestReport {
        std::string address;
        std::vector<ServiceReport> services;
        Timestamp at = 0;
    };

    using Desired = std::map<std::string, std::vector<site::Service>>;  // by VM
    static Desired desired_of(const site::Site& site);
    static std::vector<std::string> differences(const Desired& from, const Desired& to);
    // The stored forms (guest_reports' body, the desired setting's value); storage when one
    // does not read.
    static std::string guest_body(const GuestReport& report);
    static Result<GuestReport> guest_from_row(const GuestReportRow& row);
    static Result<Desired> desired_from_body(const std::string& body);
    // view() of vm's desired services; with mu_ held.
    VmServices view_locked(const std::string& vm, const std::vector<site::Service>& want,
                           Timestamp now) const;

    Store& store_;
    const Timestamp stale_after_;
    mutable std::mutex mu_;
    Desired desired_;
    std::map<std::string, GuestReport> reports_;
};

}  // namespace provisioner::server
