#include "provisioner/agent/guest.h"

#include <algorithm>
#include <deque>
#include <iostream>

#include "base/process.h"

namespace provisioner::agent {
namespace {

using json = nlohmann::json;
using imaging::Result;
using imaging::Status;

constexpr std::chrono::milliseconds kDefaultInterval{30'000};
// One connection attempt to a local port: loopback answers or refuses at once.
constexpr std::chrono::milliseconds kConnectTimeout{1'000};
// The installer's last output kept for the error.
constexpr std::size_t kOutputTailBytes = 2 << 10;
// The server refuses a whole report whose error passes 4 KiB (provisioner/server/api_site.cc).
constexpr std::size_t kMaxErrorBytes = 3 << 10;

// The installer's last lines, at most kOutputTailBytes of them.
class OutputTail {
  public:
    void add(std::string_view line) {
        if (line.find_first_not_of(" \t") == std::string_view::npos) return;
        lines_.emplace_back(line.substr(0, kOutputTailBytes));
        bytes_ += lines_.back().size();
        while (bytes_ > kOutputTailBytes) {
            bytes_ -= lines_.front().size();
            lines_.pop_front();
        }
    }
    // One line, for an error: "last | lines", its end kept when longer than the tail.
    std::string joined() const {
        std::string out;
        for (const auto& l : lines_) out += (out.empty() ? "" : " | ") + l;
        if (out.size() > kOutputTailBytes) out = "..." + out.substr(out.size() - kOutputTailBytes);
        return out;
    }

  private:
    std::deque<std::string> lines_;
    std::size_t bytes_ = 0;
};

std::string seconds_text(std::chrono::milliseconds d) {
    auto tenths = d.count() / 100;
    std::string s = std::to_string(tenths / 10);
    if (tenths % 10) s += "." + std::to_string(tenths % 10);
    return s;
}

const std::string* find_parameter(const ServiceParameters& parameters, const std::string& name) {
    for (const auto& [n, v] : parameters) {
        if (n == name) return &v;
    }
    return nullptr;
}

// dpkg's database, as dpkg -i needs it: a template whose system is busybox has none.
Status prepare_dpkg(const std::filesystem::path& root) {
    std::error_code ec;
    const std::filesystem::path admin = root / "var/lib/dpkg";
    for (const char* dir : {"info", "updates"}) {
        std::filesystem::create_directories(admin / dir, ec);
        if (ec) return Status::error("creating " + (admin / dir).string() + ": " + ec.message());
    }
    if (!std::filesystem::exists(admin / "status", ec)) {
        if (Status s = write_file_atomically(admin / "status", ""); !s) return s;
    }
    return Status::ok();
}

}  // namespace

Result<wire::GuestAnswer> parse_guest_answer(const json& answer) {
    auto decoded = wire::decode<wire::GuestAnswer>(answer);
    if (!decoded) return decoded.status();
    std::vector<DesiredService> wanted;
    for (DesiredService& d : decoded->services) {
        bool repeated = std::any_of(wanted.begin(), wanted.end(), [&](const DesiredService& w) {
            return w.package == d.package;
        });
        if (!repeated) wanted.push_back(std::move(d));  // installed once
    }
    decoded->services = std::move(wanted);
    return std::move(*decoded);
}

Result<std::uint16_t> parse_service_port(const std::string& value) {
    bool digits =
        !value.empty() && value.size() <= 5 &&
        std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
    unsigned long port = digits ? std::stoul(value) : 0;
    if (port < 1 || port > 65535)
        return Status::error("port must be a number from 1 to 65535, not \"" + value + "\"");
    return std::uint16_t(port);
}

GuestAgent::GuestAgent(GuestOptions options, ServerClient& server, base::Clock& clock)
    : options_(std::move(options)), server_(server), clock_(clock) {}

std::chrono::milliseconds GuestAgent::interval() const {
    if (options_.interval) return *options_.interval;
    return server_interval_.value_or(kDefaultInterval);
}

void GuestAgent::log(const std::string& line) const {
    if (options_.log)
        options_.log(line);
    else
        std::cerr << line << std::endl;
}

CallResult GuestAgent::report() {
    wire::GuestReport report{options_.vm, address_, {}};
    for (const ServiceStatus& s : services_) {
        wire::ServiceReport& entry = report.services.emplace_back();
        entry.package = s.package;
        entry.state = s.state;
        if (s.state == ServiceState::failed) entry.error = s.error;
        if (s.state == ServiceState::service_available) entry.access = s.access;
    }
    CallResult r = server_.guest_report(report);
    delivered_ = r.ok();
    return r;
}

void GuestAgent::report_change() {
    CallResult r = report();
    if (!r.ok()) log(options_.vm + ": report: " + r.error);
}

void GuestAgent::fail(ServiceStatus& status, const std::string& error) {
    status.state = ServiceState::failed;
    status.error = error.substr(0, kMaxErrorBytes);
    status.access.clear();
    status.installed_with.clear();
    log(options_.vm + ": " + status.package + ": failed: " + error);
    report_change();
}

bool GuestAgent::wait_for_port(std::uint16_t port, const std::atomic<bool>* stop) {
    auto deadline = clock_.now() + options_.check_timeout;
    for (;;) {
        if (tcp_port_answers(port, kConnectTimeout)) return true;
        if (clock_.now() >= deadline || (stop && stop->load())) return false;
        clock_.sleep_for(options_.check_every);
    }
}

void GuestAgent::deploy(const DesiredService& wanted, ServiceStatus& status,
                        const std::atomic<bool>* stop) {
    auto stopped = [&] { return stop && stop->load(); };
    const std::string& package = wanted.package;
    if (!is_safe_package_name(package))
        return fail(status, "package name \"" + package +
                                "\" is not a safe file name ([A-Za-z0-9][A-Za-z0-9.+_-]*)");
    std::optional<std::uint16_t> port;
    if (const std::string* text = find_parameter(wanted.parameters, "port")) {
        auto parsed = parse_service_port(*text);
        if (!parsed) return fail(status, parsed.status().message());
        port = *parsed;
    }
    for (const auto& [name, value] : wanted.parameters) {
        // Neither an environment variable nor systemd's EnvironmentFile can hold a NUL.
        if (value.find('\0') != std::string::npos)
            return fail(status, "parameter " + name + " holds a NUL character");
    }

    // container_ready: the parameters applied and the installer there.
    const std::filesystem::path env_file = environment_file(options_.root, package);
    if (Status s = write_file_atomically(env_file, render_environment_file(wanted.parameters)); !s)
        return fail(status, s.message());
    // Where it comes from: the server's signed package when it keeps one, else the mirror.
    std::optional<wire::PackageRecord> from_server;
    if (options_.packages) {
        auto found = options_.packages->lookup(package);
        if (!found) return fail(status, found.status().message());
        from_server = std::move(*found);
    }
    const std::filesystem::path cache = options_.root / "var/cache/provisioner/packages";
    std::vector<std::string> command = install_command_words(
        from_server ? options_.package_command : options_.install_command, package,
        options_.root.string(), env_file.string(), (cache / (package + ".deb")).string());
    auto installer = find_program(command.empty() ? "" : command.front());
    if (!installer) return fail(status, installer.status().message());
    status.state = ServiceState::container_ready;
    status.error.clear();
    status.access.clear();
    log(options_.vm + ": " + package + ": container ready");
    report_change();
    if (stopped()) return;

    if (from_server) {
        if (Status s = prepare_dpkg(options_.root); !s) return fail(status, s.message());
        auto file = options_.packages->download(*from_server, cache);
        if (!file) return fail(status, file.status().message());
        log(options_.vm + ": " + package + ": " + from_server->version + " from the server (" +
            std::to_string(from_server->size) + " bytes, signature and SHA-256 checked)");
        if (stopped()) return;
    }

    base::RunOptions child;
    child.timeout = options_.install_timeout;
    child.capture_limit = 64 << 10;  // OutputTail keeps what the message needs
    for (const auto& [name, value] : wanted.parameters) {
        // A service's `path` or `ld_preload` is for the service (its file has it), not for
        // the installer, which must find and load its own programs.
        const std::string variable = environment_name(name);
        if (variable == "PATH" || variable == "HOME" || variable == "IFS" ||
            variable.starts_with("LD_"))
            continue;
        child.environment.push_back(variable + "=" + value);
    }
    // Last, so that no parameter can take their place.
    child.environment.push_back("DEBIAN_FRONTEND=noninteractive");
    child.environment.push_back("PROVISIONER_SERVICE=" + package);
    OutputTail tail;
    child.on_stdout_line = [&](std::string_view l) { tail.add(l); };
    child.on_stderr_line = [&](std::string_view l) { tail.add(l); };
    std::string shown;
    for (const std::string& word : command) shown += (shown.empty() ? "" : " ") + word;
    log(options_.vm + ": " + package + ": installing: " + shown);
    auto ran = base::run_process(command, child);
    if (!ran) return fail(status, "install command: " + ran.status().message());
    if (ran->exit_code != 0) {
        std::string output = tail.joined();
        return fail(status, "install command exited with " + std::to_string(ran->exit_code) +
                                (output.empty() ? "" : ": " + output));
    }
    if (stopped()) return;

    if (port && !wait_for_port(*port, stop)) {
        if (stopped()) return;
        return fail(status, "nothing listens on port " + std::to_string(*port) + " after " +
                                seconds_text(options_.check_timeout) + " s");
    }
    status.state = ServiceState::service_available;
    status.access = port && !address_.empty() ? address_ + ":" + std::to_string(*port) : "";
    status.installed_with = wanted.parameters;
    log(options_.vm + ": " + package + ": service available" +
        (status.access.empty() ? "" : " at " + status.access));
    report_change();
}

GuestRound GuestAgent::round(const std::atomic<bool>* stop) {
    GuestRound out;
    address_ = options_.address ? options_.address() : "";
    CallResult first = report();
    if (!first.ok()) {
        out.refused = first.kind == CallResult::Kind::fatal;
        out.error = first.error;
        return out;
    }
    auto answer = parse_guest_answer(first.body);
    if (!answer) {
        out.refused = true;
        out.error = answer.status().message();
        return out;
    }
    const std::vector<DesiredService>* wanted = &answer->services;
    if (answer->interval_seconds > 0)
        server_interval_ =
            std::chrono::milliseconds(std::int64_t(std::min(answer->interval_seconds, 86400.0) * 1000));
    out.answered = true;

    // Services no longer wanted are forgotten (not uninstalled); new ones start at vm_ready.
    std::vector<ServiceStatus> kept;
    for (const DesiredService& w : *wanted) {
        auto known = std::find_if(services_.begin(), services_.end(),
                                  [&](const ServiceStatus& s) { return s.package == w.package; });
        if (known != services_.end()) {
            kept.push_back(std::move(*known));
        } else {
            ServiceStatus fresh;
            fresh.package = w.package;
            kept.push_back(std::move(fresh));
        }
    }
    services_ = std::move(kept);

    for (std::size_t i = 0; i < wanted->size(); ++i) {
        if (stop && stop->load()) break;
        const DesiredService& w = (*wanted)[i];
        ServiceStatus& status = services_[i];
        if (status.state == ServiceState::service_available &&
            status.installed_with == w.parameters) {
            // Still there? An unchanged, available service is not installed again.
            const std::string* port = find_parameter(w.parameters, "port");
            auto number = port ? parse_service_port(*port) : Result<std::uint16_t>(0);
            if (!port || (number && tcp_port_answers(*number, kConnectTimeout))) continue;
            log(options_.vm + ": " + w.package + ": port " + *port +
                " no longer answers; installing again");
        }
        deploy(w, status, stop);
    }

    out.delivered = delivered_;
    out.wanted = int(services_.size());
    for (const ServiceStatus& s : services_) {
        out.available += s.state == ServiceState::service_available;
        out.failed += s.state == ServiceState::failed;
    }
    return out;
}

int GuestAgent::run(const std::atomic<bool>* stop) {
    auto stopped = [&] { return stop && stop->load(); };
    auto pause = [&] {
        // In short steps, so that a stop request is seen within a fraction of a second.
        auto next = clock_.now() + interval();
        while (!stopped() && clock_.now() < next) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next - clock_.now());
            clock_.sleep_for(std::min(left, std::chrono::milliseconds(100)));
        }
    };
    while (!stopped()) {
        GuestRound r = round(stop);
        if (!r.answered) {
            log(options_.vm + ": report: " + r.error);  // one line per round, not per retry
            if (options_.once && r.refused) return 1;
            pause();
            continue;
        }
        if (options_.once) {
            while (!r.delivered && !stopped()) {
                pause();
                CallResult again = report();
                r.delivered = again.ok();
                if (again.kind == CallResult::Kind::fatal) {
                    log(options_.vm + ": report: " + again.error);
                    return 1;
                }
            }
            bool all = r.available == r.wanted && !stopped();
            return all ? 0 : 1;
        }
        pause();
    }
    return options_.once ? 1 : 0;
}

}  // namespace provisioner::agent
