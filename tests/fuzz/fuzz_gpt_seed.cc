// The GPT reader that finds the seed partition on a freshly written disk: the disk holds
// whatever the image (or whoever wrote it) put there.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "provisioner/agent/seed.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::string path = [] {
        std::string p = "/tmp/fuzz-gpt-XXXXXX";
        int fd = ::mkstemp(p.data());
        if (fd >= 0) ::close(fd);
        return p;
    }();
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return 0;
    std::fwrite(data, 1, size, f);
    std::fclose(f);
    (void)provisioner::agent::find_seed_partition(path);
    return 0;
}
