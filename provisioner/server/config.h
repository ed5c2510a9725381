// provisionerd's settings: a plain struct with defaults (ninja's BuildConfig idea), filled from
// an INI/TOML config file and then the command line (flags win), by add_config_options.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace provisioner::server {

struct ServerConfig {
    std::filesystem::path state_dir = "/var/lib/provisioner";
    // The inventory: empty for STATE/inventory.db (SQLite); a postgresql:// URL for a
    // PostgreSQL database that several provisionerd share (any of them answers the API).
    std::string database;
    // One port speaks HTTPS and plain HTTP, told apart by a connection's first byte; over plain
    // HTTP only what firmware fetches is served (/boot/, /netboot/, /torrents/, /announce) and
    // anything else gets 403 "use https://" (see README, "TLS").
    std::string listen = "0.0.0.0:8080";
    // The URL hosts, agents and the CLI reach the API by (kernel command line, guests' seeds):
    // https://<dhcp address or 127.0.0.1>:<listen port> by default, http:// with --no-tls.
    // Whatever scheme --public-url is given with, finish_config sets the one that fits tls.
    std::string public_url;
    // The same authority over plain HTTP: iPXE script URLs, the netboot kernel and initramfs,
    // torrents and the tracker (what firmware and libtorrent fetch).
    std::string boot_url;
    int http_threads = 2;  // I/O only: read, route, write
    // The API's handlers run on http_workers threads, with at most http_queue requests waiting
    // (more: 503 with Retry-After); long operations (template add, image import) are jobs,
    // job_threads at once and job_queue waiting. http_workers 0: one per core, at least 2
    // (tests/bench/api on 2 cores: 2 workers answered ?limit=50 at 43,000 requests/s, 8 at
    // 31,000; the extra threads only added wake-ups and context switches); on PostgreSQL, whose
    // round trips handlers wait for, two per core, at least 4 (main.cc).
    int http_workers = 0;
    int http_queue = 256;
    // The HTTP server's connections (one kept per reporting agent); 0: fd_budget.h's default.
    int max_connections = 0;
    int job_threads = 1;
    int job_queue = 16;

    // TLS (tls_files.h): on unless --no-tls. Without --tls-cert/--tls-key, the server's own CA
    // (STATE/ca.crt) signs STATE/server.crt for every local address, the public URL's host,
    // --dhcp-address and each --tls-name.
    bool tls = true;
    std::string tls_cert, tls_key;
    std::vector<std::string> tls_names;

    // DHCP/TFTP by dnsmasq; off when dhcp_interface is empty.
    std::string dhcp_interface;
    std::string dhcp_address;     // this server's address on that interface
    std::string dhcp_range;       // "10.77.0.100,10.77.0.199" (full DHCP), or
    std::string proxy_dhcp;       // "10.77.0.0" (proxy-DHCP beside another DHCP server)
    std::string dhcp_netmask = "255.255.255.0";
    std::string dnsmasq_binary = "/usr/sbin/dnsmasq";
    std::string ipxe_dir = "/usr/lib/ipxe";
    bool uefi_ipxe_efi = false;  // UEFI clients get ipxe.efi instead of snponly.efi

    // Netboot kernel and initramfs served at /netboot/vmlinuz and /netboot/initrd.img.
    std::filesystem::path netboot_dir;
    // Set by provisionerd, not an option: netboot_dir's initrd.img with this server's CA and
    // site key appended (netboot_initrd.h), served in its place; empty: serve it as it is.
    std::filesystem::path netboot_initrd;
    std::string kernel_args;  // extra kernel command line, e.g. "console=ttyS0,115200"

    // The imaging tool that serves, sends and seeds images.
    std::filesystem::path imaging_binary;  // empty: `imaging` next to provisionerd
    // Ports of the children are the lowest free ones from these bases (port_pool.h), held
    // while the child runs. `imaging serve`: 1000 for images from delta_port, 1000 for hot
    // templates from delta_port + 2000 (provisioner/API.md).
    std::uint16_t delta_port = 7000;
    std::uint64_t delta_rate_limit = 0;    // bytes/s per delta receiver; 0: none
    std::string multicast_interface;       // empty: dhcp_interface
    // Multicast session n (from 0, the lowest free) uses multicast_port + n and group
    // prefix.(n + 1): up to 250 at once.
    std::string multicast_group_prefix = "239.77.0";
    std::uint16_t multicast_port = 9000;
    std::uint16_t torrent_port = 6881;  // seeds: 100 ports from here
    std::string multicast_max_rate;                    // passed to `imaging send --max-rate`
    double multicast_max_wait = 30;                    // seconds for the rendezvous
    // Hosts' BMCs (power_service.h): how often every power state is read (0: never), and the
    // time limit of one attempt at one BMC call (each call is tried up to 4 times).
    double power_poll_interval = 30;
    double bmc_timeout = 10;

    // `--transport auto`: delta below this many hosts, multicast at or above it (BitTorrent if
    // there is no multicast interface).
    std::size_t auto_threshold = 3;
    // A target not finished this long after its deployment started fails.
    std::chrono::seconds deploy_timeout{3600};
    // A host's boot ticket (auth.h) is good for one hello this long after its deployment
    // started.
    std::chrono::seconds boot_ticket_lifetime{1800};
    // Ownership (lease_keeper.h): this server's name in the leases of the work it owns (made
    // unique to the process at start; empty: the hostname), and how long a lease lasts
    // unrenewed: a dead server's deployments are taken over by another about this long after
    // its last renewal.
    std::string server_id;
    // The other servers sharing the database (--peer-url): netboot agents get this server's
    // URL, then these, and fail over between them.
    std::vector<std::string> peer_urls;
    std::chrono::milliseconds lease_time{15000};
    // A rack server (rack_dhcp.h): its dnsmasq answers only the enrolled hosts of the racks
    // it serves (its own, and a --dhcp-standby rack whose server is gone), and its iPXE
    // scripts only those hosts. Empty: every host (one server for the whole site).
    std::string rack;
    std::vector<std::string> dhcp_standby;
    // A rack server's copies of its racks' images, fetched from peers (rack_image_cache.h),
    // under STATE/image-cache: their stored bytes stay under this.
    std::uint64_t image_cache_bytes = std::uint64_t(64) << 30;
    // A template not used by a site apply for this long cools down: it leaves the hot list
    // the hosts pre-copy, and the hosts dispose of it once no VM of theirs uses it.
    std::chrono::seconds template_cool_down{604800};
    // Dom0 agents report at least this often (the report's answer tells them); a ready host
    // silent for three intervals becomes unreachable (host_monitor.h).
    std::chrono::seconds heartbeat_interval{15};
    // The metrics history's round-robin archives, STEP:RETENTION finest first
    // (metrics_history.h); kept under STATE/history.
    std::string history_archives = "15s:24h,5m:30d";

    // `template add` and `image import` read only inside STATE/import and these directories
    // (import_paths.h).
    std::vector<std::filesystem::path> import_dirs;

    // Unknown MACs (a PXE boot or a discovery hello) become discovered hosts at most this many
    // a minute (a token bucket holding one minute's worth), and at most max_discovered hosts
    // wait in state discovered at once; one never accepted is removed this long after it was
    // discovered (discovery_gate.h).
    unsigned discovery_per_minute = 60;
    std::size_t max_discovered = 256;
    std::chrono::seconds discovered_expiry{86400};
};

// Registers every field on app as --flag, with the config file option --config; help texts say
// what each does and its default.
void add_config_options(CLI::App& app, ServerConfig& config);

// Fills the derived defaults (public_url, imaging_binary, multicast_interface) and checks the
// combination; the message names the flag.
std::string finish_config(ServerConfig& config, const std::filesystem::path& self_exe);

}  // namespace provisioner::server
