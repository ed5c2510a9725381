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

nlohmann::json encode(const GuestReport& report);
nlohmann::json encode(const GuestAnswer& answer);
template <>
Result<GuestReport> decode<GuestReport>(const nlohmann::json& message);
template <>
Result<GuestAnswer> decode<GuestAnswer>(const nlohmann::json& message);

}  // namespace provisioner::wire
