#include "mapped_image.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

namespace imaging::multicast {

Result<std::unique_ptr<MappedImage>> MappedImage::open(const std::filesystem::path& dir) {
    std::unique_ptr<MappedImage> image(new MappedImage());
    auto manifest = load_manifest_unverified(dir);
    if (!manifest) return manifest.status();
    image->manifest_ = std::move(manifest.value());

    std::ifstream in(dir / kManifestFile, std::ios::binary);
    if (!in) return errno_status("open " + (dir / kManifestFile).string());
    image->manifest_bytes_.assign(std::istreambuf_iterator<char>(in), {});
    if (image->manifest_bytes_.empty() || image->manifest_bytes_.size() > 0xFFFFFFFFu)
        return Status::error((dir / kManifestFile).string() + ": bad size");

    auto pack_path = (dir / kPackFile).string();
    int fd = ::open(pack_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno_status("open " + pack_path);
    struct stat st {};
    if (fstat(fd, &st) != 0) {
        ::close(fd);
        return errno_status("stat " + pack_path);
    }
    if (std::uint64_t(st.st_size) < image->manifest_.pack_size) {
        ::close(fd);
        return Status::error(pack_path + " is shorter than its manifest says");
    }
    image->pack_size_ = std::size_t(st.st_size);
    if (image->pack_size_ > 0) {
        void* p = mmap(nullptr, image->pack_size_, PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            ::close(fd);
            return errno_status("mmap " + pack_path);
        }
        // Two calls: the advice values are not flags (SEQUENTIAL | WILLNEED is WILLNEED alone).
        // Advice only: a kernel that ignores it changes nothing but speed.
        (void)madvise(p, image->pack_size_, MADV_SEQUENTIAL);
        (void)madvise(p, image->pack_size_, MADV_WILLNEED);
        image->pack_ = static_cast<const std::uint8_t*>(p);
    }
    ::close(fd);
    return image;
}

MappedImage::~MappedImage() {
    if (pack_) munmap(const_cast<std::uint8_t*>(pack_), pack_size_);
}

std::vector<std::span<const std::uint8_t>> MappedImage::objects() const {
    std::vector<std::span<const std::uint8_t>> out;
    out.reserve(manifest_.chunks.size() + 1);
    out.emplace_back(manifest_bytes_);
    for (const ChunkEntry& c : manifest_.chunks) {
        if (c.is_zero())
            out.emplace_back();
        else
            out.emplace_back(pack_ + c.pack_offset, c.pack_size);
    }
    return out;
}

}  // namespace imaging::multicast
