// What a guest agent (inside a VM) reports and is answered: POST /api/v1/guest/report (API.md,
// "Services in VMs"). The rules every message keeps are in codec.h.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "provisioner/wire/codec.h"

namespace provisioner::wire {

// SO-MVDS's states a guest reports, in their order (the server adds vm_unavailable).
enum class ServiceState { vm_ready, container_ready, service_available, failed };
const char* to_string(ServiceState state);

// {"package", "state", "error"?, "access"?}: package and state required.
struct ServiceReport {
    std::string package;
    ServiceState state = ServiceState::vm_ready;
    std::string error;   // failed: why
    std::string access;  // service_available with a port: "ADDRESS:PORT"
    bool operator==(const ServiceReport&) const = default;
};

// {"v", "vm", "address"?, "services"?}: vm required (the guest token is checked against it).
struct GuestReport {
    static constexpr const char* kName = "guest report";
    static constexpr int kVersion = 1;
    std::string vm;
    std::string address;  // as the guest sees itself towards the server; "" when unknown
    std::vector<ServiceReport> services;
    bool operator==(const GuestReport&) const = default;
};

// {"package", "parameters"?: [{"name", "value"}...]}: a service the server wants in the VM.
struct DesiredService {
    std::string package;
    std::vector<std::pair<std::string, std::string>> parameters;  // in the site file's order
    bool operator==(const DesiredService&) const = default;
};

// The answer: {"v", "services": [DesiredService...], "interval"?: seconds}; services required.
struct GuestAnswer {
    static constexpr const char* kName = "guest answer";
    static constexpr int kVersion = 1;
    std::vector<DesiredService> services;
    double interval_seconds = 0;  // 0 when absent: the guest keeps its own
    bool operator==(const GuestAnswer&) const = default;
};

// A service package the server keeps (`provisioner service add PKG.deb`), as a guest fetches
// it: GET /api/v1/guest/vms/{vm}/packages/{package} (the file at .../file). signature is
// Ed25519 (hex) by the site key (STATE/site.key, the images' key) over
// package_signed_text(record); a guest checks it against the key pinned in its template.
// {"v", "name", "version", "architecture", "size", "sha256", "signature"}: all required.
struct PackageRecord {
    static constexpr const char* kName = "package record";
    static constexpr int kVersion = 1;
    std::string name;  // the .deb's Package field: the site file's SERVICE package
    std::string version;
    std::string architecture;
    std::uint64_t size = 0;
    std::string sha256;     // of the .deb, lowercase hex
    std::string signature;  // hex
    bool operator==(const PackageRecord&) const = default;
};
// The largest package a server keeps and a guest downloads.
inline constexpr std::uint64_t kMaxPackageBytes = 256ull << 20;
// What the signature covers: every field but the signature, one per line, after a line that
// says what it is (so that no other signed message of the site key reads as a package).
std::string package_signed_text(const PackageRecord& record);

nlohmann::json encode(const GuestReport& report);
nlohmann::json encode(const GuestAnswer& answer);
nlohmann::json encode(const PackageRecord& record);
template <>
Result<GuestReport> decode<GuestReport>(const nlohmann::json& message);
template <>
Result<GuestAnswer> decode<GuestAnswer>(const nlohmann::json& message);
template <>
Result<PackageRecord> decode<PackageRecord>(const nlohmann::json& message);

}  // namespace provisioner::wire
