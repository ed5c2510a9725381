// host add | import | list | show | accept | dom0 | remove (power, bmc: cmd_power.cc)
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "bmc_url.h"
#include "commands.h"
#include "events_view.h"
#include "imaging/http/query.h"
#include "output/fields.h"
#include "output/format.h"
#include "output/table.h"

namespace provisioner::cli {
namespace {

std::string host_path(const std::string& host) {
    return "/api/v1/hosts/" + path_segment(host);
}

// "h1 (52:54:00:00:00:01)"
std::string host_label(const nlohmann::json& host) {
    return text(field(host, "name")) + " (" + text(field(host, "mac")) + ")";
}

struct AddOptions {
    std::string mac, name, ip, rack, bmc, bmc_password_file, bmc_ca_file;
};

// With --bmc, the host and its BMC are enrolled together or not at all: a BMC the server
// refuses removes the host just added.
int host_add(Session& s, const AddOptions& o) {
    nlohmann::json bmc;
    if (!o.bmc.empty()) {
        auto url = parse_bmc_url(o.bmc);
        if (!url) return s.fail(url.status().message());
        if (url->driver != "manual" && o.bmc_password_file.empty())
            return s.fail("--bmc " + url->driver +
                          " needs --bmc-password-file FILE (- for standard input)");
        auto request = bmc_request(s, *url, o.bmc_password_file, o.bmc_ca_file);
        if (!request) return s.fail(request.status().message());
        bmc = std::move(*request);
    }
    nlohmann::json body = {{"mac", o.mac}, {"name", o.name}};
    if (!o.ip.empty()) body["ip"] = o.ip;
    if (!o.rack.empty()) body["rack"] = o.rack;
    auto r = s.api().post("/api/v1/hosts", body);
    if (!r) return s.fail(r.error());
    nlohmann::json added = r.json();
    if (!bmc.is_null()) {
        auto set = s.api().post(host_path(o.name) + "/bmc", bmc);
        if (!set) {
            ApiError error = set.error();
            auto undone = s.api().del(host_path(o.name));
            error.message = "its BMC: " + error.message +
                            (undone ? "; host " + o.name + " was not enrolled"
                                    : "; host " + o.name + " stays enrolled without a BMC (" +
                                          undone.error().message + ")");
            return s.fail(error);
        }
        added["bmc"] = field(set.json(), "bmc");
    }
    if (s.json()) return s.print_json(added);
    s.out() << "added host " << host_label(added) << ", " << text(field(added, "state"));
    if (!bmc.is_null()) {
        s.out() << ", BMC " << text(field(field(added, "bmc"), "driver"));
        const std::string address = text(field(field(added, "bmc"), "address"));
        if (!address.empty()) s.out() << " " << address;
    }
    s.out() << "\n";
    return kExitOk;
}

// The per-line errors of a failed import; the API puts "lines" beside "error" (it is also
// accepted inside it).
const nlohmann::json& import_line_errors(const nlohmann::json& error_body) {
    const auto& inside = field(field(error_body, "error"), "lines");
    return inside.is_array() ? inside : field(error_body, "lines");
}

int host_import(Session& s, const std::string& file) {
    std::string csv;
    std::string label = file == "-" ? "<stdin>" : file;
    if (file == "-") {
        std::ostringstream text;
        text << s.env().in->rdbuf();
        csv = text.str();
    } else {
        std::ifstream in(file, std::ios::binary);
        std::ostringstream text;
        if (in) text << in.rdbuf();
        if (!in || in.bad()) return s.fail("cannot read " + file);
        csv = text.str();
    }
    auto r = s.api().post_text("/api/v1/hosts/import", std::move(csv), "text/csv");
    if (!r) {
        for (const auto& line : import_line_errors(r.error().body)) {
            s.err() << label << ":" << text(field(line, "line")) << ": "
                    << text(field(line, "message")) << "\n";
        }
        if (r.error().kind == ApiError::Kind::http) {
            ApiError error = r.error();
            if (error.message.find("nothing") == std::string::npos) {
                error.message += "; nothing was imported";
            }
            return s.fail(error);
        }
        return s.fail(r.error());
    }
    if (s.json()) return s.print_json(r.json());
    auto n = count(field(r.json(), "imported"));
    s.out() << "imported " << n << (n == 1 ? " host" : " hosts") << " from " << label << "\n";
    return kExitOk;
}

struct ListOptions {
    std::string selector;
    int limit = 0;
    int offset = 0;
};

// id -> "name@version" for the host list's IMAGE column; empty if the images cannot be read,
// which only makes that column less friendly ("#3").
std::map<std::string, std::string> image_labels(Session& s) {
    std::map<std::string, std::string> labels;
    auto r = s.api().get("/api/v1/images");
    if (!r) return labels;
    for (const auto& image : field(r.json(), "images")) {
        labels[field(image, "id").dump()] = image_label(image);
    }
    return labels;
}

// The POWER column: "on", "off", or the last BMC call's error kind; "-" without a BMC.
std::string power_text(const nlohmann::json& power) {
    if (!power.is_object()) return "-";
    if (!field(power, "error_kind").is_null()) return text(field(power, "error_kind"));
    return text(field(power, "power"));
}

int host_list(Session& s, const ListOptions& o) {
    std::string query = "?selector=" + imaging::http::percent_encode(o.selector);
    if (o.limit > 0) query += "&limit=" + std::to_string(o.limit);
    if (o.offset > 0) query += "&offset=" + std::to_string(o.offset);
    auto r = s.api().get("/api/v1/hosts" + query);
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    const auto& hosts = field(r.json(), "hosts");
    if (hosts.empty()) {
        s.err() << "no hosts match '" << o.selector << "'\n";
        return kExitOk;
    }
    std::map<std::string, std::string> labels;
    for (const auto& host : hosts) {
        if (!field(host, "image").is_null() && labels.empty()) labels = image_labels(s);
    }
    // POWER only when some host has a BMC.
    bool any_bmc = false;
    for (const auto& host : hosts) any_bmc = any_bmc || field(host, "power").is_object();
    std::vector<std::string> columns = {"NAME", "MAC", "IP", "RACK", "STATE", "IMAGE"};
    if (any_bmc) columns.push_back("POWER");
    Table table(columns);
    for (const auto& host : hosts) {
        const auto& image = field(host, "image");
        std::string image_text = "-";
        if (!image.is_null()) {
            auto it = labels.find(image.dump());
            image_text = it != labels.end() ? it->second : image_label(image);
        }
        std::vector<std::string> row = {text(field(host, "name")), text(field(host, "mac")),
                                        text(field(host, "ip")),   text(field(host, "rack")),
                                        text(field(host, "state")), image_text};
        if (any_bmc) row.push_back(power_text(field(host, "power")));
        table.add_row(row);
    }
    s.out() << table.render();
    auto total = count(field(r.json(), "total"));
    if (total > hosts.size()) {
        s.err() << "showing " << hosts.size() << " of " << total
                << " hosts; see --limit and --offset\n";
    }
    return kExitOk;
}

std::string facts_cpu(const nlohmann::json& facts) {
    const auto& cpu = field(facts, "cpu");
    if (cpu.is_null()) return "-";
    return text(field(cpu, "model")) + ", " + text(field(cpu, "cores")) + " cores";
}

void add_fact_fields(Fields& fields, const nlohmann::json& facts) {
    if (!facts.is_object()) return;
    fields.emplace_back("hostname", text(field(facts, "hostname")));
    fields.emplace_back("cpu", facts_cpu(facts));
    fields.emplace_back("memory", format_bytes(field(facts, "memory_bytes")));
    for (const auto& disk : field(facts, "disks")) {
        std::string kind = field(disk, "rotational") == true ? "rotational" : "solid-state";
        if (field(disk, "removable") == true) kind += ", removable";
        fields.emplace_back("disk", text(field(disk, "path")) + "  " +
                                        format_bytes(field(disk, "size_bytes")) + "  " +
                                        text(field(disk, "model")) + " (" + kind + ")");
    }
    for (const auto& nic : field(facts, "nics")) {
        std::string speed = field(nic, "speed_mbps").is_number()
                                ? text(field(nic, "speed_mbps")) + " Mb/s"
                                : "speed unknown";
        fields.emplace_back("nic", text(field(nic, "name")) + "  " + text(field(nic, "mac")) +
                                       "  " + speed + "  " +
                                       (field(nic, "up") == true ? "up" : "down"));
    }
}

int host_show(Session& s, const std::string& host_ref) {
    auto r = s.api().get(host_path(host_ref));
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    const auto& host = r.json();
    Fields fields = {
        {"id", text(field(host, "id"))},
        {"name", text(field(host, "name"))},
        {"mac", text(field(host, "mac"))},
        {"ip", text(field(host, "ip"))},
        {"rack", text(field(host, "rack"))},
        {"state", text(field(host, "state"))},
        {"image", image_label(field(host, "image"))},
        {"created", format_time(field(host, "created_at"))},
        {"updated", format_time(field(host, "updated_at"))},
    };
    const auto& power = field(host, "power");
    if (power.is_object()) {
        std::string bmc = text(field(power, "driver"));
        if (!text(field(power, "address")).empty()) bmc += " " + text(field(power, "address"));
        fields.emplace_back("bmc", bmc);
        fields.emplace_back("power", text(field(power, "power")));
        if (!field(power, "error").is_null())
            fields.emplace_back("bmc error", text(field(power, "error_kind")) + ": " +
                                                 text(field(power, "error")));
    }
    add_fact_fields(fields, field(host, "facts"));
    s.out() << render_fields(fields);
    const auto& events = field(host, "events");
    if (events.is_array() && !events.empty()) {
        Table table = make_events_table(false);
        for (const auto& event : events) add_event_row(table, event, false);
        s.out() << "\nevents (times in UTC):\n" << table.render();
    }
    return kExitOk;
}

int host_accept(Session& s, const std::string& host_ref, const std::string& name) {
    nlohmann::json body = nlohmann::json::object();
    if (!name.empty()) body["name"] = name;
    auto r = s.api().post(host_path(host_ref) + "/accept", body);
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    s.out() << "accepted host " << host_label(r.json()) << ", " << text(field(r.json(), "state"))
            << "\n";
    return kExitOk;
}

int host_dom0(Session& s, const std::string& host_ref) {
    auto r = s.api().get(host_path(host_ref) + "/dom0");
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    s.out() << text(field(r.json(), "cmdline")) << "\n";
    return kExitOk;
}

int host_remove(Session& s, const std::string& host_ref) {
    auto r = s.api().del(host_path(host_ref));
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    s.out() << "removed host " << host_label(r.json()) << "\n";
    return kExitOk;
}

}  // namespace

void add_host_commands(CLI::App& app, Action& chosen) {
    auto* host = app.add_subcommand("host", "Enrol, list, inspect, accept and remove hosts; print a Dom0's agent settings; show a host's metrics history; power hosts through their BMCs");
    host->require_subcommand(1);
    const char* kHostRef = "the host: its id, MAC or name";

    auto add = std::make_shared<AddOptions>();
    auto* add_cmd = host->add_subcommand(
                            "add", "Enrol one host (state enrolled), with its BMC if --bmc says")
                        ->alias("enrol");
    add_cmd->add_option("--mac", add->mac, "its boot NIC's MAC, 52:54:00:00:00:01")->required();
    add_cmd->add_option("--name", add->name, "its name, unique in the inventory")->required();
    add_cmd->add_option("--ip", add->ip, "the address DHCP gives it (default: from the pool)");
    add_cmd->add_option("--rack", add->rack, "its rack, for placement and torrent peering");
    add_cmd->add_option("--bmc", add->bmc,
                        "its BMC, which deployments power it through: ipmi://USER@HOST[:PORT] "
                        "(IPMI over LAN), redfish://USER@HOST[:PORT] (Redfish over HTTPS) or "
                        "manual; the host is not enrolled if the server refuses the BMC")
        ->check([](const std::string& v) {
            auto url = parse_bmc_url(v);
            return url ? std::string() : url.status().message();
        });
    add_cmd->add_option("--bmc-password-file", add->bmc_password_file,
                        "a file holding the BMC password (- for standard input); needed with "
                        "ipmi and redfish, sealed by the server and never shown again");
    add_cmd->add_option("--bmc-ca-file", add->bmc_ca_file,
                        "redfish: the PEM file (on the server) of the CA the BMC's certificate "
                        "chains to (default: the system's)");
    on_run(add_cmd, chosen, [add](Session& s) { return host_add(s, *add); });

    auto file = std::make_shared<std::string>();
    auto* import = host->add_subcommand(
        "import",
        "Enrol hosts from a CSV file, all or none: a header line naming the columns (mac, name; "
        "optional ip, rack), then one host per line; '#' starts a comment line");
    import->add_option("FILE", *file, "the CSV file, or - for standard input")->required();
    on_run(import, chosen, [file](Session& s) { return host_import(s, *file); });

    auto list = std::make_shared<ListOptions>();
    auto* list_cmd = host->add_subcommand("list", "List hosts as a table")->alias("ls");
    list->selector = "all";
    list_cmd
        ->add_option("SELECTOR", list->selector,
                     "which hosts: all, a name glob (web-*), or conditions that must all "
                     "hold, key=value,... with keys name, rack, state, mac, image "
                     "(rack=r1,state=enrolled)")
        ->capture_default_str();
    list_cmd->add_option("--limit", list->limit, "at most this many hosts (default: the server's)")
        ->check(CLI::PositiveNumber);
    list_cmd->add_option("--offset", list->offset, "skip this many hosts first")
        ->check(CLI::NonNegativeNumber);
    on_run(list_cmd, chosen, [list](Session& s) { return host_list(s, *list); });

    auto show_ref = std::make_shared<std::string>();
    auto* show = host->add_subcommand("show", "Show one host, its facts and its recent events");
    show->add_option("HOST", *show_ref, kHostRef)->required();
    on_run(show, chosen, [show_ref](Session& s) { return host_show(s, *show_ref); });

    auto accept_ref = std::make_shared<std::string>();
    auto accept_name = std::make_shared<std::string>();
    auto* accept =
        host->add_subcommand("accept", "Accept a discovered host into the inventory (enrolled)");
    accept->add_option("HOST", *accept_ref, kHostRef)->required();
    accept->add_option("--name", *accept_name, "rename it (default: keep discovered-<mac>)");
    on_run(accept, chosen, [accept_ref, accept_name](Session& s) {
        return host_accept(s, *accept_ref, *accept_name);
    });

    auto dom0_ref = std::make_shared<std::string>();
    auto* dom0 = host->add_subcommand(
        "dom0", "Print what HOST's Dom0 agent reads (provisioner-agent ready|dom0 --cmdline FILE): "
                "the server, its current Dom0 token and its MAC. The netboot agent writes the "
                "same to the imaged disk's seed partition; use this for a Dom0 without one");
    dom0->add_option("HOST", *dom0_ref, kHostRef)->required();
    on_run(dom0, chosen, [dom0_ref](Session& s) { return host_dom0(s, *dom0_ref); });

    auto remove_ref = std::make_shared<std::string>();
    auto* remove = host->add_subcommand("remove", "Remove a host from the inventory")->alias("rm");
    remove->add_option("HOST", *remove_ref, kHostRef)->required();
    on_run(remove, chosen, [remove_ref](Session& s) { return host_remove(s, *remove_ref); });
    add_host_metrics_command(host, chosen);
    add_host_power_commands(host, chosen);
}

}  // namespace provisioner::cli
