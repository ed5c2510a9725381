#include "provisioner/wire/guest.h"

#include "reader.h"

namespace provisioner::wire {

using detail::Need;
using detail::Reader;
using nlohmann::json;

namespace {

constexpr ServiceState kStates[] = {ServiceState::vm_ready, ServiceState::container_ready,
                                    ServiceState::service_available, ServiceState::failed};

void read_service(Reader s, ServiceReport& out) {
    s.nonempty_string("package", out.package, Need::required);
    std::string state;
    s.string("state", state, Need::required);
    if (s.ok()) {
        bool known = false;
        for (ServiceState k : kStates)
            if (state == to_string(k)) out.state = k, known = true;
        if (!known)
            s.fail("state",
                   "must be vm_ready, container_ready, service_available or failed, not \"" +
                       state + "\"");
    }
    s.string("error", out.error, Need::optional);
    s.string("access", out.access, Need::optional);
}

void read_desired(Reader s, DesiredService& out) {
    s.nonempty_string("package", out.package, Need::required);
    if (const json* parameters = s.array("parameters", Need::optional)) {
        for (std::size_t i = 0; i < parameters->size() && s.ok(); ++i) {
            Reader p = s.element("parameters", i, (*parameters)[i]);
            auto& [name, value] = out.parameters.emplace_back();
            p.nonempty_string("name", name, Need::required);
            p.string("value", value, Need::required);
        }
    }
}

}  // namespace

const char* to_string(ServiceState state) {
    switch (state) {
        case ServiceState::vm_ready:
            return "vm_ready";
        case ServiceState::container_ready:
            return "container_ready";
        case ServiceState::service_available:
            return "service_available";
        case ServiceState::failed:
            return "failed";
    }
    return "failed";
}

json encode(const GuestReport& report) {
    json services = json::array();
    for (const ServiceReport& s : report.services) {
        json entry = {{"package", s.package}, {"state", to_string(s.state)}};
        if (!s.error.empty()) entry["error"] = s.error;
        if (!s.access.empty()) entry["access"] = s.access;
        services.push_back(std::move(entry));
    }
    return {{"v", GuestReport::kVersion},
            {"vm", report.vm},
            {"address", report.address},
            {"services", std::move(services)}};
}

template <>
Result<GuestReport> decode<GuestReport>(const json& message) {
    Reader r(GuestReport::kName, message);
    GuestReport report;
    r.version(GuestReport::kVersion);
    r.nonempty_string("vm", report.vm, Need::required);
    r.string("address", report.address, Need::optional);
    if (const json* services = r.array("services", Need::optional)) {
        for (std::size_t i = 0; i < services->size() && r.ok(); ++i)
            read_service(r.element("services", i, (*services)[i]), report.services.emplace_back());
    }
    return detail::finish(r, std::move(report));
}

json encode(const GuestAnswer& answer) {
    json services = json::array();
    for (const DesiredService& s : answer.services) {
        json parameters = json::array();
        for (const auto& [name, value] : s.parameters)
            parameters.push_back({{"name", name}, {"value", value}});
        services.push_back({{"package", s.package}, {"parameters", std::move(parameters)}});
    }
    json out = {{"v", GuestAnswer::kVersion}, {"services", std::move(services)}};
    if (answer.interval_seconds > 0) {
        // Whole seconds as an integer, as the server has always written them.
        const double seconds = answer.interval_seconds;
        if (seconds < 1e15 && double(std::int64_t(seconds)) == seconds)
            out["interval"] = std::int64_t(seconds);
        else
            out["interval"] = answer.interval_seconds;
    }
    return out;
}

template <>
Result<GuestAnswer> decode<GuestAnswer>(const json& message) {
    Reader r(GuestAnswer::kName, message);
    GuestAnswer answer;
    r.version(GuestAnswer::kVersion);
    if (const json* services = r.array("services", Need::required)) {
        for (std::size_t i = 0; i < services->size() && r.ok(); ++i)
            read_desired(r.element("services", i, (*services)[i]), answer.services.emplace_back());
    }
    r.number("interval", answer.interval_seconds, Need::optional);
    if (r.ok() && answer.interval_seconds < 0) r.fail("interval", "must not be negative");
    return detail::finish(r, std::move(answer));
}

std::string package_signed_text(const PackageRecord& record) {
    return "provisioner service package 1\nname " + record.name + "\nversion " + record.version +
           "\narchitecture " + record.architecture + "\nsize " + std::to_string(record.size) +
           "\nsha256 " + record.sha256 + "\n";
}

json encode(const PackageRecord& record) {
    return {{"v", PackageRecord::kVersion}, {"name", record.name},
            {"version", record.version},    {"architecture", record.architecture},
            {"size", record.size},          {"sha256", record.sha256},
            {"signature", record.signature}};
}

template <>
Result<PackageRecord> decode<PackageRecord>(const json& message) {
    Reader r(PackageRecord::kName, message);
    PackageRecord record;
    r.version(PackageRecord::kVersion);
    r.nonempty_string("name", record.name, Need::required);
    r.nonempty_string("version", record.version, Need::required);
    r.nonempty_string("architecture", record.architecture, Need::required);
    r.unsigned_integer("size", record.size, Need::required);
    r.nonempty_string("sha256", record.sha256, Need::required);
    r.nonempty_string("signature", record.signature, Need::required);
    if (r.ok() && record.size > kMaxPackageBytes)
        r.fail("size", "must be at most " + std::to_string(kMaxPackageBytes) + " bytes");
    if (r.ok() && (record.sha256.size() != 64 ||
                   record.sha256.find_first_not_of("0123456789abcdef") != std::string::npos))
        r.fail("sha256", "must be 64 lowercase hex digits");
    // A line break in a field would let one signed text read as another.
    const std::pair<const char*, const std::string*> lines[] = {
        {"name", &record.name},
        {"version", &record.version},
        {"architecture", &record.architecture}};
    for (const auto& [key, value] : lines)
        if (r.ok() && value->find_first_of("\n\r") != std::string::npos)
            r.fail(key, "must be one line");
    return detail::finish(r, std::move(record));
}

}  // namespace provisioner::wire
