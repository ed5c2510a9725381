#include "pxe/ipxe_script.h"

#include <cctype>
#include <sstream>

#include "validate.h"

namespace pxe {

namespace {

constexpr std::string_view kScriptPrefix = "/boot/";
constexpr std::string_view kScriptSuffix = ".ipxe";

Status check_params(const NetbootParams& p) {
    Status s = detail::check_http_url("server URL", p.server_url);
    if (s) s = detail::check_http_url("kernel URL", p.kernel_url);
    if (s) s = detail::check_http_url("initrd URL", p.initrd_url);
    for (const std::string& peer : p.peer_urls)
        if (s) s = detail::check_http_url("peer server URL", peer);
    for (unsigned char c : p.extra_kernel_args)
        if (s && (c == '$' || c == '\n' || c == '\r' || c == '#'))
            s = Status::error("extra kernel args \"" + p.extra_kernel_args +
                              "\": no '$', '#' or newline (iPXE would read them)");
    return s.context("netboot params");
}

Status check_token(const std::string& token) {
    bool ok = !token.empty();
    for (unsigned char c : token)
        ok = ok && (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~');
    return ok ? Status::ok()
              : Status::error("host token: want letters, digits and \"-._~\", non-empty");
}

// provisioner.server's value: this server's URL, then its peers', comma-separated.
std::string agent_servers(const NetbootParams& p) {
    std::string out = p.server_url;
    for (const std::string& peer : p.peer_urls) out += "," + peer;
    return out;
}

// The kernel + initrd + boot stanza. The initrd is named so UEFI kernels (EFI stub) find it
// through initrd=; on failure the host waits and reboots, which retries the whole PXE chain.
void render_boot(std::ostream& out, const NetbootParams& p, const std::string& args) {
    out << "kernel " << p.kernel_url << " initrd=initrd.img " << args;
    if (!p.extra_kernel_args.empty()) out << " " << p.extra_kernel_args;
    out << " || goto failed\n"
        << "initrd --name initrd.img " << p.initrd_url << " || goto failed\n"
        << "boot || goto failed\n"
        << ":failed\n"
        << "echo provisioner: netboot failed, rebooting in 10 seconds\n"
        << "sleep 10\n"
        << "reboot\n";
}

}  // namespace

std::string ipxe_script_path(const base::Mac& mac) {
    return std::string(kScriptPrefix) + mac.hyphen() + std::string(kScriptSuffix);
}

std::optional<base::Mac> parse_ipxe_script_path(std::string_view path) {
    if (!path.starts_with(kScriptPrefix) || !path.ends_with(kScriptSuffix)) return std::nullopt;
    path.remove_prefix(kScriptPrefix.size());
    path.remove_suffix(kScriptSuffix.size());
    if (path.size() != 17 || path[2] != '-') return std::nullopt;
    auto mac = base::Mac::parse(path);
    if (!mac) return std::nullopt;
    return *mac;
}

std::string ipxe_script_url_template(const std::string& http_base_url) {
    return http_base_url + std::string(kScriptPrefix) + "${mac:hexhyp}" +
           std::string(kScriptSuffix);
}

Result<std::string> render_netboot_script(const NetbootParams& params, const NetbootHost& host) {
    if (Status s = check_params(params); !s) return s;
    if (Status s = detail::check_hostname("host name", host.hostname); !s) return s;
    if (Status s = check_token(host.token); !s) return s;
    std::ostringstream out;
    out << "#!ipxe\n"
        << "# provisioner: " << host.hostname << " (" << host.mac.str()
        << ") netboots the imaging agent\n";
    render_boot(out, params,
                std::string(kCmdlineServer) + "=" + agent_servers(params) + " " + kCmdlineMode +
                    "=image " + kCmdlineMac + "=" + host.mac.str() + " " + kCmdlineToken + "=" +
                    host.token);
    return out.str();
}

Result<std::string> render_discovery_script(const NetbootParams& params, const base::Mac& mac) {
    if (Status s = check_params(params); !s) return s;
    std::ostringstream out;
    out << "#!ipxe\n"
        << "# provisioner: unknown MAC " << mac.str() << " netboots the agent in discovery mode\n";
    render_boot(out, params,
                std::string(kCmdlineServer) + "=" + agent_servers(params) + " " + kCmdlineMode +
                    "=discover " + kCmdlineMac + "=" + mac.str());
    return out.str();
}

Result<std::string> render_discovered_wait_script(const NetbootParams& params, const base::Mac& mac,
                                                  int every_seconds) {
    if (Status s = check_params(params); !s) return s;
    std::ostringstream out;
    out << "#!ipxe\n"
        << "# provisioner: " << mac.str()
        << " is registered as discovered and waits to be accepted\n"
        << "echo provisioner: this host (" << mac.str() << ") waits for: provisioner host accept "
        << mac.str() << " [--name NAME]\n"
        << ":wait\n"
        << "sleep " << every_seconds << "\n"
        << "chain --replace --autofree " << ipxe_script_url_template(params.server_url)
        << " || goto wait\n";
    return out.str();
}

std::string render_local_disk_script(const base::Mac& mac, const std::string& hostname) {
    std::ostringstream out;
    out << "#!ipxe\n"
        << "# provisioner: "
        << (detail::check_hostname("host name", hostname) ? hostname : std::string("host")) << " ("
        << mac.str() << ") has nothing to install: boot from the local disk\n"
        // exit 1, not exit: UEFI firmware (OVMF, EDK II's boot manager) takes a boot option that
        // returns success as the end of booting and shows its menu; a failure sends it on to the
        // next option, the disk. BIOS goes on to the next device either way.
        << "sanboot --no-describe --drive 0x80 || exit 1\n";
    return out.str();
}

}  // namespace pxe
