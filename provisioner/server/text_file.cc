#include "text_file.h"

#include <fstream>
#include <iterator>

namespace provisioner::server {

Result<std::string> read_text_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::error(Code::not_found, "cannot read " + path.string());
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace provisioner::server
