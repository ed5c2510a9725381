#include "imaging/chunk.h"

#include <zstd.h>

#include <cstring>
#include <memory>

namespace imaging {

namespace {

// ZSTD_decompress makes and frees a decompression context (about 160 KB of tables and
// buffers, so a fresh mapping and its page faults) for every frame. Each thread that decodes
// keeps one for its life instead: the transports' decode workers, parallel_for's threads.
ZSTD_DCtx* thread_dctx() {
    struct Free {
        void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
    };
    thread_local std::unique_ptr<ZSTD_DCtx, Free> dctx(ZSTD_createDCtx());
    return dctx.get();
}

}  // namespace

bool is_all_zero(std::span<const std::uint8_t> data) {
    // Word-at-a-time scan; the compiler vectorises the inner loop.
    std::size_t i = 0;
    const std::size_t words = data.size() / 64 * 64;
    for (; i < words; i += 64) {
        std::uint64_t acc = 0;
        for (std::size_t k = 0; k < 64; k += 8) {
            std::uint64_t w;
            std::memcpy(&w, data.data() + i + k, 8);
            acc |= w;
        }
        if (acc) return false;
    }
    for (; i < data.size(); ++i)
        if (data[i]) return false;
    return true;
}

std::vector<std::uint8_t> compress_chunk(std::span<const std::uint8_t> raw, int level) {
    std::vector<std::uint8_t> out(ZSTD_compressBound(raw.size()));
    std::size_t n = ZSTD_compress(out.data(), out.size(), raw.data(), raw.size(), level);
    // compressBound is always enough; an error here is a zstd bug, not bad input.
    if (ZSTD_isError(n)) out.clear();
    else out.resize(n);
    return out;
}

Status decode_chunk(std::span<const std::uint8_t> frame, std::span<std::uint8_t> out,
                    const Digest& expected) {
    unsigned long long declared = ZSTD_getFrameContentSize(frame.data(), frame.size());
    if (declared == ZSTD_CONTENTSIZE_ERROR) return Status::error("chunk is not a zstd frame");
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != out.size())
        return Status::error("chunk frame holds " + std::to_string(declared) + " bytes, expected " +
                             std::to_string(out.size()));
    ZSTD_DCtx* dctx = thread_dctx();
    if (!dctx) return Status::error("out of memory for a zstd decompression context");
    std::size_t n = ZSTD_decompressDCtx(dctx, out.data(), out.size(), frame.data(), frame.size());
    if (ZSTD_isError(n))
        return Status::error(std::string("chunk does not decompress: ") + ZSTD_getErrorName(n));
    if (n != out.size()) return Status::error("chunk decompressed to the wrong length");
    if (sha256(out) != expected) return Status::error("chunk SHA-256 does not match the manifest");
    return Status::ok();
}

}  // namespace imaging
