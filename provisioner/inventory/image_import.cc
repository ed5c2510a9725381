#include "provisioner/image_import.h"

#include <fstream>
#include <iterator>
#include <span>
#include <string>

#include "imaging/digest.h"
#include "imaging/manifest.h"

namespace provisioner {

Result<Image> image_from_pack(const std::filesystem::path& dir) {
    const auto manifest_path = dir / imaging::kManifestFile;
    std::ifstream in(manifest_path, std::ios::binary);
    if (!in)
        return Status::error(Code::invalid_argument,
                             "no image at " + dir.string() + ": cannot read manifest.json");
    const std::string bytes{std::istreambuf_iterator<char>(in), {}};
    auto manifest = imaging::Manifest::parse(bytes);
    if (!manifest)
        return Status::error(Code::invalid_argument, "bad manifest in " + dir.string() + ": " +
                                                         manifest.status().message());
    std::error_code ec;
    if (!std::filesystem::is_regular_file(dir / imaging::kPackFile, ec))
        return Status::error(Code::invalid_argument, "no chunks.pack in " + dir.string());
    Image image;
    image.name = manifest->name;
    image.version = manifest->version;
    image.manifest_sha256 = imaging::to_hex(imaging::sha256(
        std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size())));
    image.image_sha256 = imaging::to_hex(manifest->image_sha256);
    image.raw_size = manifest->raw_size;
    image.stored_size = manifest->stored_bytes();
    image.path = std::filesystem::absolute(dir, ec).lexically_normal().string();
    image.signature = manifest->signature;
    return image;
}

}  // namespace provisioner
