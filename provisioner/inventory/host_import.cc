#include "provisioner/host_import.h"

#include <algorithm>
#include <map>
#include <string>

namespace provisioner {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

// Splits one CSV line; a quoted field keeps its blanks, an unquoted one is trimmed.
Result<std::vector<std::string>> split_fields(std::string_view line) {
    std::vector<std::string> fields;
    std::size_t i = 0;
    for (;;) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        std::string field;
        if (i < line.size() && line[i] == '"') {
            ++i;
            for (;;) {
                if (i >= line.size())
                    return Status::error(Code::invalid_argument, "unterminated quoted field");
                if (line[i] == '"') {
                    if (i + 1 < line.size() && line[i + 1] == '"') {
                        field += '"';
                        i += 2;
                        continue;
                    }
                    ++i;
                    break;
                }
                field += line[i++];
            }
            while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
            if (i < line.size() && line[i] != ',')
                return Status::error(Code::invalid_argument, "text after a closing quote");
        } else {
            const std::size_t comma = line.find(',', i);
            const std::string_view raw = line.substr(
                i, comma == std::string_view::npos ? std::string_view::npos : comma - i);
            if (raw.find('"') != std::string_view::npos)
                return Status::error(Code::invalid_argument, "a quote inside an unquoted field");
            field = std::string(trim(raw));
            i = comma == std::string_view::npos ? line.size() : comma;
        }
        fields.push_back(std::move(field));
        if (i >= line.size()) return fields;
        ++i;  // the comma
    }
}

enum Column { kMac, kName, kIp, kRack, kColumns };
constexpr const char* kColumnNames[kColumns] = {"mac", "name", "ip", "rack"};

// Maps header fields to columns; index per field, or an error.
Result<std::vector<int>> read_header(const std::vector<std::string>& fields) {
    std::vector<int> order;
    bool seen[kColumns] = {};
    for (const std::string& f : fields) {
        std::string lower = f;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return char(std::tolower(c)); });
        const auto* it = std::find_if(std::begin(kColumnNames), std::end(kColumnNames),
                                      [&](const char* n) { return lower == n; });
        if (it == std::end(kColumnNames)) {
            if (Mac::parse(f))
                return Status::error(Code::invalid_argument,
                                     "missing header line (expected mac,name,ip,rack)");
            return Status::error(Code::invalid_argument,
                                 "unknown column \"" + f + "\" (expected mac,name,ip,rack)");
        }
        const int col = int(it - std::begin(kColumnNames));
        if (seen[col])
            return Status::error(Code::invalid_argument, "column \"" + lower + "\" given twice");
        seen[col] = true;
        order.push_back(col);
    }
    if (!seen[kMac] || !seen[kName])
        return Status::error(Code::invalid_argument,
                             "the header must name the mac and name columns");
    return order;
}

// A line error for each host whose MAC or name the store already holds. Many hosts are checked
// against one read of the inventory (a query per host and column cost 200,000 round trips to
// PostgreSQL for 100,000 hosts), a few by a look-up each.
Status check_taken(Store& store, const std::vector<CsvHost>& hosts, std::vector<LineError>& errors) {
    constexpr std::size_t kLookups = 64;
    if (hosts.size() <= kLookups) {
        for (const CsvHost& h : hosts) {
            if (auto other = store.find_host(h.spec.mac)) {
                errors.push_back(
                    {h.line, "MAC " + h.spec.mac.str() + " is already enrolled as " + other->name});
            } else if (other.status().code() != Code::not_found) {
                return other.status();
            }
            if (auto other = store.find_host_by_name(h.spec.name)) {
                errors.push_back({h.line, "name \"" + h.spec.name + "\" is already used by " +
                                              other->mac.str()});
            } else if (other.status().code() != Code::not_found) {
                return other.status();
            }
        }
        return Status::ok();
    }
    auto all = store.list_hosts(HostFilter{});
    if (!all) return all.status();
    std::map<Mac, const Host*> by_mac;
    std::map<std::string_view, const Host*> by_name;
    for (const Host& host : *all) {
        by_mac.emplace(host.mac, &host);
        by_name.emplace(host.name, &host);
    }
    for (const CsvHost& h : hosts) {
        if (auto it = by_mac.find(h.spec.mac); it != by_mac.end())
            errors.push_back({h.line, "MAC " + h.spec.mac.str() + " is already enrolled as " +
                                          it->second->name});
        if (auto it = by_name.find(h.spec.name); it != by_name.end())
            errors.push_back({h.line, "name \"" + h.spec.name + "\" is already used by " +
                                          it->second->mac.str()});
    }
    return Status::ok();
}

}  // namespace

ParsedCsv parse_hosts_csv(std::string_view text) {
    ParsedCsv out;
    std::optional<std::vector<int>> header;
    std::map<Mac, std::size_t> mac_lines;
    std::map<std::string, std::size_t> name_lines;
    std::size_t line_no = 0;
    while (!text.empty()) {
        const std::size_t nl = text.find('\n');
        const std::string_view line = trim(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        ++line_no;
        if (line.empty() || line.front() == '#') continue;
        auto fields = split_fields(line);
        auto error = [&](const std::string& message) { out.errors.push_back({line_no, message}); };
        if (!fields) {
            error(fields.status().message());
            if (!header) return out;  // without a header nothing else can be read
            continue;
        }
        if (!header) {
            auto h = read_header(*fields);
            if (!h) {
                error(h.status().message());
                return out;
            }
            header = std::move(*h);
            continue;
        }
        if (fields->size() != header->size()) {
            error("expected " + std::to_string(header->size()) + " fields, got " +
                  std::to_string(fields->size()));
            continue;
        }
        std::string value[kColumns];
        for (std::size_t i = 0; i < header->size(); ++i) value[(*header)[i]] = (*fields)[i];
        CsvHost host;
        host.line = line_no;
        const std::size_t errors_before = out.errors.size();
        if (auto mac = Mac::parse(value[kMac]); !mac) {
            error(mac.status().message());
        } else {
            host.spec.mac = *mac;
            if (auto [it, fresh] = mac_lines.emplace(*mac, line_no); !fresh)
                error("duplicate MAC " + mac->str() + " (also on line " +
                      std::to_string(it->second) + ")");
        }
        host.spec.name = value[kName];
        host.spec.ip = value[kIp];
        host.spec.rack = value[kRack];
        if (Status s = validate_host_fields(host.spec.name, host.spec.ip, host.spec.rack); !s) {
            error(s.message());
        } else if (auto [it, fresh] = name_lines.emplace(host.spec.name, line_no); !fresh) {
            error("duplicate name \"" + host.spec.name + "\" (also on line " +
                  std::to_string(it->second) + ")");
        }
        if (out.errors.size() == errors_before) out.hosts.push_back(std::move(host));
    }
    if (!header)
        out.errors.push_back({line_no == 0 ? 1 : line_no, "no header line: the file is empty"});
    return out;
}

std::string ImportResult::summary() const {
    if (errors.empty()) return "imported " + std::to_string(imported) + " hosts";
    std::string s;
    for (const LineError& e : errors)
        s += "line " + std::to_string(e.line) + ": " + e.message + "\n";
    s += std::to_string(errors.size()) + " errors; nothing imported";
    return s;
}

Result<ImportResult> import_hosts_csv(Store& store, std::string_view text,
                                      const std::string& reason) {
    ParsedCsv parsed = parse_hosts_csv(text);
    ImportResult result;
    result.errors = std::move(parsed.errors);
    std::size_t imported = 0;
    Status s = store.transaction([&]() -> Status {
        if (Status checked = check_taken(store, parsed.hosts, result.errors); !checked)
            return checked;
        if (!result.errors.empty())
            return Status::error(Code::invalid_argument, "bad lines");  // rolls back; see errors
        std::vector<HostSpec> specs;
        specs.reserve(parsed.hosts.size());
        for (const CsvHost& h : parsed.hosts) specs.push_back(h.spec);
        auto added = store.add_hosts(specs, HostState::enrolled, reason);
        if (!added) return added.status();
        imported = added->size();
        return Status::ok();
    });
    std::stable_sort(result.errors.begin(), result.errors.end(),
                     [](const LineError& a, const LineError& b) { return a.line < b.line; });
    if (!result.errors.empty()) return result;
    if (!s) return s.context("importing hosts");
    result.imported = imported;
    return result;
}

}  // namespace provisioner
