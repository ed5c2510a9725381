// provisioner-agent-netboot: the agent as the netboot initramfs carries it (installed there as
// provisioner-agent). The same image, discover and facts commands as provisioner-agent, built
// without the Dom0 and VM commands, so it loads no libvirt (and none of libvirt's libraries:
// libxml2, ICU's 30 MB of data, GnuTLS...) into an initramfs every host fetches at power-on.
#include "agent_cli.h"

namespace {

using provisioner::agent::cli::Command;

constexpr Command kCommands[] = {
    {"image", "receive this host's image and report (the netboot default)",
     provisioner::agent::cli::cmd_image},
    {"discover", "register this host as discovered, with its facts",
     provisioner::agent::cli::cmd_discover},
    {"facts", "print this host's facts as JSON", provisioner::agent::cli::cmd_facts},
};

}  // namespace

int main(int argc, char** argv) {
    return provisioner::agent::cli::run_agent(argc, argv, kCommands);
}
