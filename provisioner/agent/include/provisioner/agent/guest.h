// `provisioner-agent guest`: runs inside a VM and installs the VM's services (SO-MVDS's service
// deployment, provisioner/API.md "Services in VMs"). Each round it reports its services'
// states (POST /api/v1/guest/report); the answer lists the services wanted, and each one not
// yet available goes through: parameters written as an environment file and the installer
// found (container_ready), installed, its `port` answering (service_available), or failed.
// The server and the clock are behind interfaces; installs and port checks are real but local
// (a child process, a connection to 127.0.0.1), so tests run them with `true` and a socket.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "imaging/status.h"
#include "provisioner/agent/agent.h"
#include "provisioner/agent/guest_packages.h"
#include "provisioner/agent/server_client.h"
#include "provisioner/agent/service_env.h"
#include "provisioner/wire/guest.h"

namespace provisioner::agent {

// The key naming the VM; provisioner.server and provisioner.token as in cmdline.h.
inline constexpr const char* kCmdlineGuest = "provisioner.guest";

inline constexpr const char* kDefaultInstallCommand =
    "apt-get install -y --no-install-recommends {package}";
// For a package the server keeps, once downloaded and checked (guest_packages.h).
inline constexpr const char* kDefaultPackageCommand = "dpkg -i {file}";
// The pinned site key, which images/build-guest --site-key puts in the template.
inline constexpr const char* kDefaultSiteKey = "/etc/provisioner/site.pub";

// Where the guest agent talks to and as whom.
struct GuestIdentity {
    std::string server;  // http://HOST:PORT
    std::string vm;      // this VM's name in the site
    std::string token;   // its guest token (g_...)
};

// Fills what `flags` leaves empty from one source: the file `cmdline_file` when not empty,
// else the SMBIOS OEM strings under `smbios_entries` when any carries a provisioner.* key,
// else `proc_cmdline`. An error names the flag and the key of what is still missing, or the
// file that could not be read.
imaging::Result<GuestIdentity> resolve_guest_identity(
    GuestIdentity flags, const std::string& cmdline_file,
    const std::filesystem::path& smbios_entries,
    const std::filesystem::path& proc_cmdline = "/proc/cmdline");

// SO-MVDS's states of a service in a VM (the server adds vm_unavailable), and a service the
// server wants in this VM: the wire contract's (provisioner/wire/guest.h).
using ServiceState = wire::ServiceState;
using wire::to_string;
using DesiredService = wire::DesiredService;

// The report's answer, decode<wire::GuestAnswer> (an error names what is missing or wrong),
// with a package named twice kept once: the first one's parameters hold.
imaging::Result<wire::GuestAnswer> parse_guest_answer(const nlohmann::json& answer);

// Where one service stands, as reported.
struct ServiceStatus {
    std::string package;
    ServiceState state = ServiceState::vm_ready;
    std::string error;                 // when failed
    std::string access;                // when available with a port: ADDRESS:PORT
    ServiceParameters installed_with;  // the parameters it was made available with
};

struct GuestOptions {
    std::string vm;
    std::filesystem::path root = "/";  // where etc/provisioner/services/ is written
    std::string install_command = kDefaultInstallCommand;
    // Where packages come from first: a package the source has is downloaded under
    // ROOT/var/cache/provisioner/packages, checked, and installed by package_command; one it
    // lacks goes to install_command. nullptr: install_command for every package. Outlives this.
    PackageSource* packages = nullptr;
    std::string package_command = kDefaultPackageCommand;
    // Between rounds: nullopt follows the server's "interval" (30 s until it has answered).
    std::optional<std::chrono::milliseconds> interval;
    std::chrono::milliseconds check_timeout{60'000};  // how long a port may take to answer
    std::chrono::milliseconds check_every{500};
    std::chrono::milliseconds install_timeout{15 * 60'000};  // a hung installer fails then
    bool once = false;
    // This guest's address as the server sees it ("" when unknown); asked each round.
    std::function<std::string()> address;
    // Progress lines ("web1: nginx: container ready"); stderr when empty.
    std::function<void(const std::string&)> log;
};

// What one round came to.
struct GuestRound {
    bool answered = false;   // the first report was answered with the wanted services
    bool refused = false;    // the server refused a report (4xx) or answered nonsense
    bool delivered = false;  // the last state change reached the server
    int wanted = 0, available = 0, failed = 0;
    std::string error;  // the first report's failure, when !answered
};

class GuestAgent {
  public:
    // server and clock must outlive this.
    GuestAgent(GuestOptions options, ServerClient& server, base::Clock& clock);

    // One report, then each wanted service not available brought as far as it goes, with a
    // report after each state change. Stops between steps once *stop is true. Never throws.
    GuestRound round(const std::atomic<bool>* stop = nullptr);

    // Rounds every interval until *stop. With options.once: the first answered round (its last
    // report retried until delivered), then 0 when every wanted service is available, else 1;
    // 1 too when the server refuses. Without once, a refusal is logged and tried again.
    int run(const std::atomic<bool>* stop = nullptr);

    const std::vector<ServiceStatus>& services() const { return services_; }
    std::chrono::milliseconds interval() const;

  private:
    // Brings one service forward from whatever state it is in; false when stopped midway.
    void deploy(const DesiredService& wanted, ServiceStatus& status, const std::atomic<bool>* stop);
    void fail(ServiceStatus& status, const std::string& error);
    CallResult report();
    void report_change();
    bool wait_for_port(std::uint16_t port, const std::atomic<bool>* stop);
    void log(const std::string& line) const;

    GuestOptions options_;
    ServerClient& server_;
    base::Clock& clock_;
    std::vector<ServiceStatus> services_;  // the wanted ones, in the server's order
    std::string address_;
    std::optional<std::chrono::milliseconds> server_interval_;
    bool delivered_ = false;
};

// Validates a `port` parameter: 1..65535, digits only.
imaging::Result<std::uint16_t> parse_service_port(const std::string& value);

// Whether something accepts a TCP connection on 127.0.0.1:port within `timeout`.
bool tcp_port_answers(std::uint16_t port, std::chrono::milliseconds timeout);

// The local address of a UDP socket connected to the server's host: the address this guest
// reaches the server from. "" when it cannot be found.
std::string local_address_towards(const std::string& server_url);

}  // namespace provisioner::agent
