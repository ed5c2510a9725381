#include "block_signature.h"

#include <xxhash.h>

#include <cstring>
#include <fstream>

#include "imaging/parallel.h"
#include "rolling_hash.h"

namespace imaging::delta {

namespace {

constexpr char kMagic[8] = {'P', 'R', 'V', 'D', 'S', 'I', 'G', '1'};
constexpr const char* kCacheFile = "delta.sig";

// The cache is tied to the exact manifest it was computed from by its signature text.
// Returns false when there is no usable cache.
bool read_cache(const std::filesystem::path& path, const Manifest& m,
                                  std::vector<std::vector<BlockSum>>& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    char magic[8];
    std::uint32_t sig_len = 0;
    in.read(magic, 8).read(reinterpret_cast<char*>(&sig_len), 4);
    if (!in || std::memcmp(magic, kMagic, 8) != 0 || sig_len != m.signature.size())
        return false;
    std::string sig(sig_len, '\0');
    in.read(sig.data(), sig_len);
    if (!in || sig != m.signature) return false;
    out.resize(m.chunks.size());
    for (std::size_t i = 0; i < m.chunks.size(); ++i) {
        if (m.chunks[i].is_zero()) continue;
        std::size_t blocks = (m.chunk_length(i) + kBlockSize - 1) / kBlockSize;
        out[i].resize(blocks);
        for (auto& b : out[i])
            in.read(reinterpret_cast<char*>(&b.weak), 4).read(reinterpret_cast<char*>(&b.strong), 8);
    }
    return bool(in);
}

void write_cache(const std::filesystem::path& path, const Manifest& m,
                 const std::vector<std::vector<BlockSum>>& sums) {
    auto tmp = path;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) return;
        std::uint32_t sig_len = std::uint32_t(m.signature.size());
        out.write(kMagic, 8).write(reinterpret_cast<const char*>(&sig_len), 4).write(m.signature.data(), sig_len);
        for (const auto& chunk : sums)
            for (const auto& b : chunk)
                out.write(reinterpret_cast<const char*>(&b.weak), 4)
                    .write(reinterpret_cast<const char*>(&b.strong), 8);
        if (!out.flush()) return;
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
}

}  // namespace

std::uint64_t strong_hash(std::span<const std::uint8_t> block) {
    return XXH3_64bits(block.data(), block.size());
}

std::vector<BlockSum> chunk_block_sums(std::span<const std::uint8_t> raw) {
    RollingHash rolling(kBlockSize);
    std::vector<BlockSum> sums;
    sums.reserve((raw.size() + kBlockSize - 1) / kBlockSize);
    for (std::size_t off = 0; off < raw.size(); off += kBlockSize) {
        auto block = raw.subspan(off, std::min<std::size_t>(kBlockSize, raw.size() - off));
        sums.push_back({RollingHash::weak(rolling.of(block)), strong_hash(block)});
    }
    return sums;
}

Result<ImageSignature> ImageSignature::load_or_compute(const PackedImage& image) {
    const Manifest& m = image.manifest();
    ImageSignature sig;
    auto cache = image.dir() / kCacheFile;
    if (read_cache(cache, m, sig.per_chunk_)) return sig;
    sig.per_chunk_.assign(m.chunks.size(), {});
    Status s = parallel_for(m.chunks.size(), 0, [&](std::size_t i) {
        if (m.chunks[i].is_zero()) return Status::ok();
        std::vector<std::uint8_t> raw(m.chunk_length(i));
        if (auto r = image.read_chunk(i, raw); !r) return r;
        sig.per_chunk_[i] = chunk_block_sums(raw);
        return Status::ok();
    });
    if (!s) return s.context("computing block signatures");
    write_cache(cache, m, sig.per_chunk_);
    return sig;
}

}  // namespace imaging::delta
