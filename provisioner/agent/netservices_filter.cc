#include <nlohmann/json.hpp>

#include "netservices_parts.h"

namespace provisioner::agent::netsvc {
namespace {

// A VM name is free text to the wire; a comment keeps only what needs no escaping.
std::string comment_safe(const std::string& text) {
    std::string out;
    for (char c : text)
        if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')
            out += c;
    return out.substr(0, 64);
}

std::string allow_rule(const wire::NetAllow& a) {
    std::string rule = "meta l4proto " + a.proto;
    if (!a.from.empty()) rule += " ip saddr " + a.from;
    if (a.port) rule += " " + a.proto + " dport " + std::to_string(a.port);
    return rule + " accept";
}

}  // namespace

std::string filter_script(const std::string& vm, const std::string& interface, bool bridge,
                          const wire::NetService& filter) {
    const std::string table = std::string(bridge ? "bridge " : "inet ") + table_name(vm);
    std::string s;
    // Declaring then deleting makes the delete safe when the table is not there yet; the
    // whole script is one transaction, so the VM is never left unfiltered in between.
    s += "table " + table + "\n";
    s += "delete table " + table + "\n";
    s += "table " + table + " {\n";
    s += "  comment \"provisioner netservice filter of VM " + comment_safe(vm) + "\"\n";
    s += "  chain to_vm {\n";
    s += "    type filter hook forward priority filter; policy accept;\n";
    s += "    oifname != \"" + interface + "\" accept\n";
    s += "    ct state established,related accept\n";
    for (const wire::NetAllow& a : filter.allow) s += "    " + allow_rule(a) + "\n";
    s += "    meta l4proto tcp reject with tcp reset\n";
    s += "    reject\n";
    s += "  }\n}\n";
    return s;
}

Result<std::vector<std::pair<std::string, std::string>>> owned_tables(NetCommands& commands) {
    auto listed = commands.run({"nft", "-j", "list", "tables"});
    if (!listed) return listed.status();
    auto parsed = nlohmann::json::parse(*listed, nullptr, false);
    if (!parsed.is_object() || !parsed.contains("nftables") || !parsed["nftables"].is_array())
        return Status::error(Code::error, "nft -j list tables: not nft's JSON");
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& item : parsed["nftables"]) {
        if (!item.is_object() || !item.contains("table")) continue;
        const auto& t = item["table"];
        const std::string name = t.value("name", "");
        if (name.rfind(kTablePrefix, 0) == 0) out.emplace_back(t.value("family", ""), name);
    }
    return out;
}

Status remove_filter(NetCommands& commands, const std::string& vm) {
    auto tables = owned_tables(commands);
    if (!tables) return tables.status();
    const std::string name = table_name(vm);
    for (const auto& [family, table] : *tables)
        if (table == name)
            if (auto r = commands.run({"nft", "delete", "table", family, table}); !r)
                return r.status();
    return Status::ok();
}

}  // namespace provisioner::agent::netsvc
