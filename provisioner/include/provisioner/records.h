// The inventory's value types: hosts, images, deployments with their per-host targets, events.
// Plain structs; the Store assigns ids and times. Times are Unix milliseconds (UTC).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "provisioner/lifecycle.h"
#include "provisioner/mac.h"

namespace provisioner {

using Timestamp = std::int64_t;  // milliseconds since the Unix epoch
using HostId = std::int64_t;
using ImageId = std::int64_t;
using DeploymentId = std::int64_t;
using EventId = std::int64_t;
using TemplateId = std::int64_t;

// What an operator (or discovery) supplies to create a host. ip and rack may be empty.
struct HostSpec {
    Mac mac;
    std::string name;
    std::string ip;    // IPv4 or IPv6 text; empty: dynamic
    std::string rack;  // free label ([A-Za-z0-9._-]); empty: none
};

struct Host {
    HostId id = 0;
    Mac mac;
    std::string name;
    std::string ip;
    std::string rack;
    HostState state = HostState::enrolled;
    std::string facts_json;        // hardware facts as the agent reported them; "" until then
    std::optional<ImageId> image;  // the image on its disk (set when imaged)
    Timestamp created_at = 0;
    Timestamp updated_at = 0;
};

// A conjunction of optional conditions; an empty filter selects every host.
struct HostFilter {
    std::optional<HostState> state;
    std::optional<std::string> rack;       // exact
    std::optional<std::string> name_glob;  // '*', '?', '[...]' as in a shell
    std::optional<Mac> mac;
    std::optional<ImageId> image;
    std::size_t limit = 0;  // 0: no limit
    std::size_t offset = 0;
};

// Checks name (an RFC 1123 host name), ip (IPv4/IPv6 or empty) and rack; invalid_argument names
// the field.
Status validate_host_fields(std::string_view name, std::string_view ip, std::string_view rack);

// An image as imported from `imaging pack` output (see image_import.h).
struct Image {
    ImageId id = 0;
    std::string name;
    std::string version;
    std::string manifest_sha256;  // hex, of manifest.json's bytes
    std::string image_sha256;     // hex, of the raw image, from the manifest
    std::uint64_t raw_size = 0;
    std::uint64_t stored_size = 0;  // bytes in the chunk pack: what a fresh copy moves
    std::string path;               // the image directory on the server
    std::string signature;          // hex, from the manifest
    Timestamp imported_at = 0;
};

enum class Transport { delta, multicast, torrent };
const char* to_string(Transport t);
std::optional<Transport> parse_transport(std::string_view text);

enum class DeploymentState { running, succeeded, failed, interrupted };
const char* to_string(DeploymentState s);
std::optional<DeploymentState> parse_deployment_state(std::string_view text);

enum class TargetState { pending, running, succeeded, failed };
const char* to_string(TargetState s);
std::optional<TargetState> parse_target_state(std::string_view text);

struct Deployment {
    DeploymentId id = 0;
    ImageId image = 0;
    Transport transport = Transport::delta;
    DeploymentState state = DeploymentState::running;
    Timestamp created_at = 0;
    std::optional<Timestamp> finished_at;
};

// One host's share of a deployment.
struct DeploymentTarget {
    DeploymentId deployment = 0;
    HostId host = 0;
    TargetState state = TargetState::pending;
    Transport transport = Transport::delta;  // may differ from the deployment's (fallback)
    std::uint64_t bytes_done = 0;
    std::uint64_t bytes_total = 0;
    std::optional<Timestamp> started_at;
    std::optional<Timestamp> finished_at;
    std::string error;  // "" unless failed
};

// One line of the event log. A host's lifecycle transition has from (absent when the host
// was created) and to; a server-wide event (dnsmasq restarted, ...) has no host.
struct Event {
    EventId id = 0;
    Timestamp time = 0;
    std::optional<HostId> host;  // absent for server events, or once the host was removed
    std::string mac;             // kept so the log still reads after a host is removed
    std::optional<HostState> from;
    std::optional<HostState> to;
    std::string reason;
};

// A server-wide event: no host, no state change.
inline Event server_event(std::string reason) {
    Event e;
    e.reason = std::move(reason);
    return e;
}

struct EventFilter {
    std::optional<HostId> host;
    EventId after = 0;      // only events with a larger id (for "watch")
    std::size_t limit = 0;  // 0: no limit; newest last
};

// A VM disk template in the server's catalog (SO-MVDS's template sharing model): a name, a
// version (name@version is immutable once added), labels to find it by, and the template it
// is a qcow2 overlay of, if any.
struct Template {
    TemplateId id = 0;
    std::string name;
    std::string version;
    std::vector<std::string> labels;  // sorted, unique
    std::string format;               // raw or qcow2
    std::uint64_t size = 0;           // bytes of the stored file
    std::string sha256;               // hex, of the stored file
    std::string backing;              // name@version of its backing template; "" for a base
    std::string path;                 // the stored file, under the server's state directory
    Timestamp created_at = 0;
    std::optional<Timestamp> last_used_at;  // when a site apply last created a VM from it

    std::string ref() const { return name + "@" + version; }
};

// An operator API token. Only the SHA-256 of the secret is kept.
struct ApiToken {
    std::int64_t id = 0;
    std::string name;
    std::string token_sha256;  // hex
    Timestamp created_at = 0;
};

}  // namespace provisioner
