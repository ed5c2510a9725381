// What PXE firmware and iPXE fetch, without a token: per-MAC iPXE scripts, the netboot kernel
// and initramfs, and torrents of running deployments.
#include <charconv>

#include "api.h"
#include "api_routes.h"
#include "api_support.h"
#include "pxe/ipxe_script.h"

namespace provisioner::server {

using imaging::http::bhttp::verb;

namespace {

pxe::NetbootParams netboot_params(const ServerConfig& config) {
    // The kernel and initramfs over plain HTTP (firmware); the agent's server over HTTPS.
    return {config.public_url, config.boot_url + "/netboot/vmlinuz",
            config.boot_url + "/netboot/initrd.img", config.kernel_args, config.peer_urls};
}

Response text(const Request& req, status code, std::string body) {
    return imaging::http::make_response(req, code, std::move(body), "text/plain");
}

// The running deployment that will image host. The orchestrator knows its own; a rack server
// also boots its rack's hosts into a deployment another server drives (their agents' hello
// comes here first, is answered wait, and goes on to the owner among their server URLs).
std::optional<DeploymentId> deployment_to_boot(ApiContext& ctx, const Host& host) {
    if (auto own = ctx.orchestrator.deployment_of(host.id)) return own;
    if (!ctx.serves_rack) return std::nullopt;
    auto deployments = ctx.store.list_deployments();
    if (!deployments) return std::nullopt;
    for (const Deployment& d : *deployments) {
        if (d.state != DeploymentState::running) continue;
        auto targets = ctx.store.list_targets(d.id);
        if (!targets) continue;
        for (const DeploymentTarget& t : *targets)
            if (t.host == host.id &&
                (t.state == TargetState::pending || t.state == TargetState::running))
                return d.id;
    }
    return std::nullopt;
}

Response script(ApiContext& ctx, const Request& req) {
    auto path = imaging::http::target_path(std::string_view(req.target().data(), req.target().size()));
    // A MAC that no NIC has (multicast, all-zero) is no boot script path either.
    auto pxe_mac = pxe::parse_ipxe_script_path(path);
    if (!pxe_mac) return text(req, status::not_found, "not a boot script path\n");
    const Mac& mac = *pxe_mac;
    auto found = find_or_discover(ctx, mac, "PXE-booted, unknown MAC");
    if (found.refused)
        return text(req, status::too_many_requests, found.host.status().message() + "\n");
    auto& host = found.host;
    if (!host) return text(req, status::internal_server_error, host.status().message() + "\n");
    if (ctx.serves_rack && !host->rack.empty() && !ctx.serves_rack(host->rack))
        return text(req, status::not_found,
                    "host " + host->name + " is in rack " + host->rack +
                        ", which this rack server does not serve now\n");
    imaging::Result<std::string> rendered = std::string();
    BootScriptKind kind = BootScriptKind::local_disk;
    switch (host->state) {
    case HostState::discovered:
        // Registered once (its facts are in): waiting in iPXE beats booting the agent again.
        kind = host->facts_json.empty() ? BootScriptKind::discovery
                                        : BootScriptKind::discovered_wait;
        rendered = host->facts_json.empty()
                       ? pxe::render_discovery_script(netboot_params(ctx.config), *pxe_mac)
                       : pxe::render_discovered_wait_script(netboot_params(ctx.config), *pxe_mac);
        break;
    case HostState::booting:
    case HostState::imaging: {
        // Over plain HTTP to anyone who asks with this MAC: only the one-use ticket.
        auto deployment = deployment_to_boot(ctx, *host);
        if (!deployment) {
            rendered = pxe::render_local_disk_script(*pxe_mac, host->name);
            break;
        }
        kind = BootScriptKind::netboot;
        rendered = pxe::render_netboot_script(
            netboot_params(ctx.config),
            pxe::NetbootHost{*pxe_mac, host->name, ctx.auth.boot_ticket(*host, *deployment)});
        break;
    }
    default: rendered = pxe::render_local_disk_script(*pxe_mac, host->name); break;
    }
    if (!rendered.is_ok()) return text(req, status::internal_server_error, rendered.status().message() + "\n");
    if (ctx.server_metrics) ctx.server_metrics->boot_script_served(kind);
    return text(req, status::ok, *rendered);
}

// Streamed from disk: a rack PXE-booting at once must not hold an initramfs in memory per host.
imaging::http::Reply netboot_file(ApiContext& ctx, const Request& req, const char* name) {
    if (ctx.config.netboot_dir.empty())
        return text(req, status::not_found, "this server has no --netboot-dir\n");
    auto path = ctx.config.netboot_dir / name;
    if (std::string_view(name) == "initrd.img" && !ctx.config.netboot_initrd.empty())
        path = ctx.config.netboot_initrd;
    auto file = imaging::http::make_file_response(req, status::ok, path.string());
    if (!file) return text(req, status::not_found, std::string(name) + " is not in --netboot-dir\n");
    return std::move(*file);
}

Response torrent(ApiContext& ctx, const Request& req, const std::string& file) {
    DeploymentId id = 0;
    if (!file.ends_with(".torrent")) return text(req, status::not_found, "no such torrent\n");
    std::string digits = file.substr(0, file.size() - std::string_view(".torrent").size());
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    if (ec != std::errc() || end != digits.data() + digits.size())
        return text(req, status::not_found, "no such torrent\n");
    auto bytes = ctx.orchestrator.torrent(id);
    if (!bytes) return text(req, status::not_found, "no running torrent deployment " + digits + "\n");
    return imaging::http::make_response(req, status::ok, *bytes, "application/x-bittorrent");
}

}  // namespace

namespace handlers {

Reply boot_script(ApiContext& ctx, const Call& c) { return script(ctx, c.req); }
Reply netboot_kernel(ApiContext& ctx, const Call& c) {
    return netboot_file(ctx, c.req, "vmlinuz");
}
Reply netboot_initrd(ApiContext& ctx, const Call& c) {
    return netboot_file(ctx, c.req, "initrd.img");
}
Reply torrent(ApiContext& ctx, const Call& c) {
    return server::torrent(ctx, c.req, c.param("file"));
}

}  // namespace handlers

}  // namespace provisioner::server
