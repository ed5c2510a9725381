// Where the guest agent finds its server, VM name and token (guest.h).
#include <map>

#include "provisioner/agent/cmdline.h"
#include "provisioner/agent/guest.h"
#include "provisioner/agent/smbios.h"

namespace provisioner::agent {
namespace {

using imaging::Result;
using imaging::Status;
using Settings = std::map<std::string, std::string>;

bool has_provisioner_key(const Settings& settings) {
    for (const auto& [key, value] : settings) {
        if (key.starts_with("provisioner.")) return true;
    }
    return false;
}

void fill(std::string& field, const Settings& settings, const char* key) {
    if (!field.empty()) return;
    auto it = settings.find(key);
    if (it != settings.end()) field = it->second;
}

}  // namespace

Result<GuestIdentity> resolve_guest_identity(GuestIdentity flags, const std::string& cmdline_file,
                                             const std::filesystem::path& smbios_entries,
                                             const std::filesystem::path& proc_cmdline) {
    GuestIdentity id = std::move(flags);
    std::string source = "the kernel command line";
    if (id.server.empty() || id.vm.empty() || id.token.empty()) {
        Settings settings;
        if (!cmdline_file.empty()) {
            auto read = read_kernel_cmdline(cmdline_file);
            if (!read) return read.status();
            settings = std::move(*read);
            source = cmdline_file;
        } else if (Settings oem = read_smbios_oem_settings(smbios_entries);
                   has_provisioner_key(oem)) {
            settings = std::move(oem);
            source = "the SMBIOS OEM strings (" + smbios_entries.string() + ")";
        } else {
            auto read = read_kernel_cmdline(proc_cmdline);
            if (!read) return read.status();
            settings = std::move(*read);
            source = proc_cmdline.string();
        }
        fill(id.server, settings, kCmdlineServer);
        fill(id.vm, settings, kCmdlineGuest);
        fill(id.token, settings, kCmdlineToken);
    }
    auto missing = [&](const char* what, const char* flag, const char* key) {
        return Status::error(std::string("no ") + what + ": give " + flag + " or " + key +
                             "= (not in " + source + ")");
    };
    if (id.server.empty()) return missing("server", "--server", kCmdlineServer);
    if (id.vm.empty()) return missing("VM name", "--name", kCmdlineGuest);
    if (id.token.empty()) return missing("guest token", "--token", kCmdlineToken);
    return id;
}

}  // namespace provisioner::agent
