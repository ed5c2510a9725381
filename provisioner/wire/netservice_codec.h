// NetService and VmNetServices as parts of larger messages, private to provisioner/wire.
#pragma once

#include "provisioner/wire/netservice.h"
#include "reader.h"

namespace provisioner::wire::detail {

// Read the object r stands for; errors are recorded in r.
void read_netservice(Reader r, NetService& out);
void read_vm_netservices(Reader r, VmNetServices& out);

}  // namespace provisioner::wire::detail
