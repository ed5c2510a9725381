#include "config.h"

#include <CLI/CLI.hpp>

#include "metrics_history.h"

namespace provisioner::server {

void add_config_options(CLI::App& app, ServerConfig& c) {
    app.set_config("--config", "", "read options from this INI/TOML file (flags override it)");
    app.add_option("--state-dir", c.state_dir, "inventory, keys, tokens, TFTP root")
        ->capture_default_str();
    app.add_option("--database", c.database,
                   "the inventory: a SQLite file (default STATE/inventory.db) or "
                   "postgresql://[USER@]HOST[:PORT]/DB?... (libpq URL; host=/DIR for a Unix "
                   "socket), which several provisionerd may share");
    app.add_option("--listen", c.listen,
                   "ADDR:PORT of the API (HTTPS) and of what firmware fetches (plain HTTP: "
                   "/boot/, /netboot/, /torrents/, /announce), on one port")
        ->capture_default_str();
    app.add_option("--public-url", c.public_url,
                   "URL hosts reach this server by (default: https://DHCP-ADDRESS:PORT; the "
                   "scheme follows --no-tls)");
    app.add_flag_callback("--no-tls", [&c] { c.tls = false; },
                          "serve everything over plain HTTP (tests, a trusted lab network); "
                          "default: the API over HTTPS only");
    app.add_option("--tls-cert", c.tls_cert,
                   "the server's certificate chain (PEM) instead of STATE/server.crt, which "
                   "the server's own CA (STATE/ca.crt) signs");
    app.add_option("--tls-key", c.tls_key, "the key of --tls-cert (PEM)");
    app.add_option("--tls-name", c.tls_names,
                   "another DNS name or address for STATE/server.crt (repeatable; the local "
                   "addresses, --dhcp-address and the public URL's host are in it already)");
    app.add_option("--http-threads", c.http_threads,
                   "HTTP I/O threads: they read, route and write, and run no handler that "
                   "touches the store, a disk, a child or the network")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    app.add_option("--http-workers", c.http_workers,
                   "threads that run the API's handlers (store, disks, children, network); "
                   "0: one per core, at least 2 (on PostgreSQL two per core, at least 4)")
        ->check(CLI::Range(0, 256))
        ->capture_default_str();
    app.add_option("--http-queue", c.http_queue,
                   "requests that may wait for a worker; more are answered 503 with "
                   "Retry-After at once")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    app.add_option("--max-connections", c.max_connections,
                   "HTTP connections open at once; each Dom0 agent keeps one between its reports "
                   "(closed after 60 s or 3 report intervals idle, whichever is longer), and when "
                   "full a new one closes the one idle longest. 0: half of RLIMIT_NOFILE (raised "
                   "to its hard limit), at most 16384; at most half of it. The metrics history "
                   "keeps open what the connections leave, but a sixteenth (at least 256)")
        ->check(CLI::Range(0, 1 << 20))
        ->capture_default_str();
    app.add_option("--job-threads", c.job_threads,
                   "how many long operations (template add, image import) run at once; "
                   "others wait, up to --job-queue")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    app.add_option("--job-queue", c.job_queue,
                   "long operations that may wait; more are answered 503 with Retry-After")
        ->check(CLI::Range(1, 10000))
        ->capture_default_str();

    app.add_option("--dhcp-interface", c.dhcp_interface,
                   "run dnsmasq for DHCP/TFTP/PXE on this interface (default: no dnsmasq)");
    app.add_option("--dhcp-address", c.dhcp_address, "this server's IPv4 address there");
    app.add_option("--dhcp-range", c.dhcp_range, "START,END: hand out addresses (full DHCP)");
    app.add_option("--proxy-dhcp", c.proxy_dhcp,
                   "SUBNET: proxy-DHCP beside an existing DHCP server (boot info only)");
    app.add_option("--dhcp-netmask", c.dhcp_netmask)->capture_default_str();
    app.add_option("--dnsmasq", c.dnsmasq_binary, "dnsmasq program")->capture_default_str();
    app.add_option("--ipxe-dir", c.ipxe_dir, "iPXE boot files (Debian's ipxe package)")
        ->capture_default_str();
    app.add_flag("--uefi-ipxe-efi", c.uefi_ipxe_efi,
                 "UEFI clients load ipxe.efi (default: snponly.efi)");

    app.add_option("--netboot-dir", c.netboot_dir,
                   "directory with the netboot vmlinuz and initrd.img");
    app.add_option("--kernel-args", c.kernel_args, "extra netboot kernel command line");

    app.add_option("--imaging", c.imaging_binary, "imaging program (default: next to this one)");
    app.add_option("--delta-port", c.delta_port, "first TCP port for delta servers")
        ->capture_default_str();
    app.add_option("--delta-rate-limit", c.delta_rate_limit,
                   "bytes/s per delta receiver, to spare a busy link (0: no limit)")
        ->capture_default_str();
    app.add_option("--multicast-interface", c.multicast_interface,
                   "interface for multicast sends (default: --dhcp-interface)");
    app.add_option("--multicast-port", c.multicast_port, "base UDP port for multicast sessions")
        ->capture_default_str();
    app.add_option("--multicast-max-rate", c.multicast_max_rate,
                   "rate ceiling for multicast sends in bits/s (e.g. 800M)");
    app.add_option("--multicast-max-wait", c.multicast_max_wait,
                   "seconds a multicast session waits for all its hosts to join")
        ->capture_default_str();
    app.add_option("--power-poll-interval", c.power_poll_interval,
                   "seconds between two reads of every host's power state from its BMC (0: never)")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 86400.0));
    app.add_option("--bmc-timeout", c.bmc_timeout,
                   "seconds one attempt at one BMC call may take (a call is tried up to 4 times)")
        ->capture_default_str()
        ->check(CLI::Range(1.0, 600.0));
    app.add_option("--torrent-port", c.torrent_port, "base TCP port for BitTorrent seeds")
        ->capture_default_str();
    app.add_option("--auto-threshold", c.auto_threshold,
                   "--transport auto: from this many hosts multicast (BitTorrent without a multicast interface), delta below")
        ->capture_default_str();
    app.add_option_function<int>(
           "--deploy-timeout",
           [&c](int seconds) { c.deploy_timeout = std::chrono::seconds(seconds); },
           "seconds before an unfinished host of a deployment fails (default 3600)")
        ->check(CLI::PositiveNumber);
    app.add_option_function<int>(
           "--boot-ticket-lifetime",
           [&c](int seconds) { c.boot_ticket_lifetime = std::chrono::seconds(seconds); },
           "seconds after a deployment starts during which its hosts' boot tickets (the "
           "one-use credential in their iPXE scripts) are good (default 1800)")
        ->check(CLI::PositiveNumber);
    app.add_option("--server-id", c.server_id,
                   "this server's name in the leases of the deployments it owns and in the "
                   "events of a takeover, made unique to the process: NAME-PID-RANDOM "
                   "(default: the hostname)");
    app.add_option("--peer-url", c.peer_urls,
                   "another provisionerd sharing the database (repeatable): the netboot agents' "
                   "command line lists this server's URL, then these, and the agents fail over "
                   "between them (an imaged system's seed keeps the list)");
    app.add_option("--rack", c.rack,
                   "serve this rack's hosts: DHCP (dnsmasq answers their MACs and no unknown "
                   "one), TFTP and iPXE scripts for them only; DHCP held under a lease in the "
                   "database, so one server answers a rack at a time (README, rack servers)");
    app.add_option("--dhcp-standby", c.dhcp_standby,
                   "a rack (repeatable) whose DHCP and boot scripts this rack server takes over "
                   "while no server of that rack is alive, and hands back when one is");
    app.add_option_function<double>(
           "--image-cache-gib",
           [&c](double gib) { c.image_cache_bytes = std::uint64_t(gib * double(1ull << 30)); },
           "a rack server's cache of the images its racks' deployments need, fetched from "
           "their owners by delta into STATE/image-cache: at most this many GiB (default 64); "
           "images no running deployment needs are evicted first")
        ->check(CLI::PositiveNumber);
    app.add_option_function<double>(
           "--lease-seconds",
           [&c](double seconds) {
               c.lease_time = std::chrono::milliseconds(std::int64_t(seconds * 1000));
           },
           "seconds a deployment's owner holds it unrenewed (renewed every third of it): "
           "servers sharing a database take a dead server's deployments over this long after "
           "its last renewal (default 15)")
        ->check(CLI::Range(1.0, 3600.0));
    app.add_option_function<std::int64_t>(
           "--template-cool-down",
           [&c](std::int64_t seconds) { c.template_cool_down = std::chrono::seconds(seconds); },
           "seconds a template stays hot (pre-copied to the hosts) after its last use "
           "(default 604800: 7 days)")
        ->check(CLI::PositiveNumber);
    app.add_option_function<std::int64_t>(
           "--heartbeat-interval",
           [&c](std::int64_t seconds) { c.heartbeat_interval = std::chrono::seconds(seconds); },
           "seconds between a Dom0 agent's reports, told to the agents; a ready host silent for "
           "three intervals becomes unreachable, and ready again at its next report (default 15)")
        ->check(CLI::PositiveNumber);
    app.add_option("--history", c.history_archives,
                   "the metrics history's archives, STEP:RETENTION finest first: each report is "
                   "averaged into every archive, a file of fixed size per host and VM under "
                   "STATE/history (README: its size)")
        ->capture_default_str()
        ->check([](const std::string& text) {
            auto parsed = parse_archives(text);
            return parsed ? std::string() : parsed.status().message();
        });

    app.add_option("--import-dir", c.import_dirs,
                   "a directory `template add` and `image import` may read from, besides "
                   "STATE/import (repeatable); any other server path is refused");
    app.add_option("--discovery-rate", c.discovery_per_minute,
                   "unknown MACs recorded as discovered hosts per minute at most (0: none)")
        ->capture_default_str();
    app.add_option("--max-discovered", c.max_discovered,
                   "hosts waiting in state discovered at most; more unknown MACs are refused")
        ->capture_default_str();
    app.add_option_function<std::int64_t>(
           "--discovered-expiry",
           [&c](std::int64_t seconds) { c.discovered_expiry = std::chrono::seconds(seconds); },
           "seconds after which a discovered host nobody accepted is removed (default 86400)")
        ->check(CLI::PositiveNumber);
}

std::string finish_config(ServerConfig& c, const std::filesystem::path& self_exe) {
    auto colon = c.listen.rfind(':');
    if (colon == std::string::npos) return "--listen must be ADDR:PORT";
    std::string port = c.listen.substr(colon + 1);
    if (!c.dhcp_interface.empty()) {
        if (c.dhcp_address.empty()) return "--dhcp-interface needs --dhcp-address";
        if (c.dhcp_range.empty() == c.proxy_dhcp.empty())
            return "--dhcp-interface needs exactly one of --dhcp-range and --proxy-dhcp";
    }
    if (!c.dhcp_standby.empty() && c.rack.empty()) return "--dhcp-standby needs --rack";
    if (!c.rack.empty() && c.dhcp_interface.empty())
        return "--rack needs --dhcp-interface (a rack server serves its rack's DHCP)";
    for (const std::string& rack : c.dhcp_standby)
        if (rack.empty() || rack == c.rack)
            return "--dhcp-standby wants another rack's name, not \"" + rack + "\"";
    if (c.tls_cert.empty() != c.tls_key.empty()) return "--tls-cert and --tls-key go together";
    if (!c.tls && !c.tls_cert.empty()) return "--tls-cert makes no sense with --no-tls";
    if (c.public_url.empty()) {
        std::string host = c.dhcp_address;
        if (host.empty()) {
            host = c.listen.substr(0, colon);
            if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
        }
        c.public_url = "http://" + host + ":" + port;
    }
    while (c.public_url.ends_with('/')) c.public_url.pop_back();
    std::string authority;
    if (c.public_url.starts_with("http://")) authority = c.public_url.substr(7);
    else if (c.public_url.starts_with("https://")) authority = c.public_url.substr(8);
    else return "--public-url must be an http:// or https:// URL";
    if (authority.empty() || authority.find('/') != std::string::npos)
        return "--public-url must be SCHEME://HOST[:PORT], without a path";
    c.public_url = (c.tls ? "https://" : "http://") + authority;
    c.boot_url = "http://" + authority;
    if (c.imaging_binary.empty()) c.imaging_binary = self_exe.parent_path() / "imaging";
    if (c.multicast_interface.empty()) c.multicast_interface = c.dhcp_interface;
    for (auto& dir : c.import_dirs) {
        if (dir.empty()) return "--import-dir wants a directory";
        dir = std::filesystem::absolute(dir).lexically_normal();
    }
    return "";
}

}  // namespace provisioner::server
