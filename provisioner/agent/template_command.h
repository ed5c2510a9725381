// `provisioner-agent template add`: registers an image file in this host's template store,
// so a host (or an e2e test) can be seeded with a template made by qemu-img.
#pragma once

namespace provisioner::agent {

int cmd_template(int argc, char** argv);

}  // namespace provisioner::agent
