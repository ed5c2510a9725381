// host power on|off|cycle|status HOST|SELECTOR, host bmc set|show|remove HOST
#include <algorithm>
#include <chrono>
#include <memory>

#include "bmc_url.h"
#include "commands.h"
#include "output/fields.h"
#include "output/format.h"
#include "output/table.h"

namespace provisioner::cli {
namespace {

std::string bmc_path(const std::string& host) {
    return "/api/v1/hosts/" + path_segment(host) + "/bmc";
}

int host_power(Session& s, const std::string& action, const std::string& target) {
    // The server answers once every BMC has: a cycle is two calls, each retried up to a
    // minute (API.md), so the request gets at least 3 minutes.
    auto api = s.api().with_timeout(std::max(s.api().config().timeout,
                                             std::chrono::milliseconds(180'000)));
    auto r = api.post("/api/v1/power", {{"action", action}, {"hosts", target}});
    if (!r) return s.fail(r.error());
    const auto& results = field(r.json(), "results");
    const auto failed = count(field(r.json(), "failed"));
    if (s.json()) {
        s.print_json(r.json());
    } else {
        Table table({"NAME", "POWER", "RESULT"});
        for (const auto& a : results) {
            std::string result = "ok";
            if (field(a, "ok") != true)
                result = text(field(a, "error_kind")) + ": " + text(field(a, "error"));
            else if (count(field(a, "attempts")) > 1)
                result = "ok (after " + text(field(a, "attempts")) + " attempts)";
            table.add_row({text(field(a, "name")), text(field(a, "power")), result});
        }
        s.out() << table.render();
    }
    if (failed > 0)
        return s.fail(std::to_string(failed) + " of " + std::to_string(results.size()) +
                      " hosts: power " + action + " failed");
    return kExitOk;
}

struct BmcOptions {
    std::string host, driver, address, user, password_file, ca_file;
};

int bmc_set(Session& s, const BmcOptions& o) {
    auto body = bmc_request(s, BmcUrl{o.driver, o.address, o.user}, o.password_file, o.ca_file);
    if (!body) return s.fail(body.status().message());
    auto r = s.api().post(bmc_path(o.host), *body);
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    const auto& bmc = field(r.json(), "bmc");
    s.out() << "host " << o.host << ": BMC " << text(field(bmc, "driver"));
    if (!text(field(bmc, "address")).empty()) s.out() << " " << text(field(bmc, "address"));
    s.out() << "\n";
    return kExitOk;
}

int bmc_show(Session& s, const std::string& host) {
    auto r = s.api().get(bmc_path(host));
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    const auto& b = field(r.json(), "bmc");
    Fields fields = {
        {"driver", text(field(b, "driver"))},
        {"address", text(field(b, "address"))},
        {"user", text(field(b, "username"))},
        {"password", "(set; never shown)"},
        {"power", text(field(b, "power"))},
        {"power since", format_time(field(b, "power_at"))},
    };
    if (!field(b, "error").is_null())
        fields.emplace_back("last error", text(field(b, "error_kind")) + ": " +
                                              text(field(b, "error")));
    s.out() << render_fields(fields);
    return kExitOk;
}

int bmc_remove(Session& s, const std::string& host) {
    auto r = s.api().del(bmc_path(host));
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    s.out() << "host " << host << ": BMC removed\n";
    return kExitOk;
}

}  // namespace

void add_host_power_commands(CLI::App* host, Action& chosen) {
    auto action = std::make_shared<std::string>();
    auto target = std::make_shared<std::string>();
    auto* power = host->add_subcommand(
        "power", "Power hosts on, off or cycle them (on when off), or read their power state, "
                 "through their BMCs; exits 1 if any host failed, naming its BMC's error");
    power->add_option("ACTION", *action, "on, off, cycle or status")
        ->required()
        ->check(CLI::IsMember({"on", "off", "cycle", "status"}));
    power->add_option("HOST", *target,
                      "a host (id, MAC or name) or a selector (all, web-*, rack=r1,...)")
        ->required();
    on_run(power, chosen, [action, target](Session& s) { return host_power(s, *action, *target); });

    auto* bmc = host->add_subcommand("bmc", "Set, show or remove a host's BMC");
    bmc->require_subcommand(1);
    auto o = std::make_shared<BmcOptions>();
    auto* set = bmc->add_subcommand(
        "set", "Give HOST a BMC (replacing its own): IPMI over LAN (ipmitool, lanplus), Redfish "
               "over HTTPS, or manual (the CLI says what to press). The password is sealed with "
               "the server's secret and never shown again");
    set->add_option("HOST", o->host, "the host: its id, MAC or name")->required();
    set->add_option("--driver", o->driver, "ipmi, redfish or manual")
        ->required()
        ->check(CLI::IsMember({"ipmi", "redfish", "manual"}));
    set->add_option("--address", o->address,
                    "ipmi: HOST[:PORT] (623); redfish: https://HOST[:PORT]");
    set->add_option("--user", o->user, "the BMC user");
    set->add_option("--password-file", o->password_file,
                    "a file holding the BMC password (- for standard input); without it the "
                    "password stored before is kept");
    set->add_option("--ca-file", o->ca_file,
                    "redfish: the PEM file (on the server) of the CA the BMC's certificate "
                    "chains to (default: the system's)");
    on_run(set, chosen, [o](Session& s) { return bmc_set(s, *o); });

    auto show_ref = std::make_shared<std::string>();
    auto* show = bmc->add_subcommand("show", "Show HOST's BMC and its last power state");
    show->add_option("HOST", *show_ref, "the host: its id, MAC or name")->required();
    on_run(show, chosen, [show_ref](Session& s) { return bmc_show(s, *show_ref); });

    auto remove_ref = std::make_shared<std::string>();
    auto* remove = bmc->add_subcommand("remove", "Forget HOST's BMC");
    remove->add_option("HOST", *remove_ref, "the host: its id, MAC or name")->required();
    on_run(remove, chosen, [remove_ref](Session& s) { return bmc_remove(s, *remove_ref); });
}

}  // namespace provisioner::cli
