// A signed pack for the tests that need one: a key pair DIR/k.key and DIR/k.pub, and
// `imaging pack` of a raw file into DIR/img with the given options (level 3 unless they say).
#pragma once

#include <doctest/doctest.h>

#include <filesystem>

#include "imaging/pack.h"
#include "imaging/signing.h"

namespace testutil {

inline imaging::Manifest pack_signed(const std::filesystem::path& dir,
                                     const std::filesystem::path& raw,
                                     imaging::PackOptions options) {
    REQUIRE(imaging::generate_keypair(dir / "k"));
    auto key = imaging::SigningKey::load(dir / "k.key");
    REQUIRE_MESSAGE(key, key.status().message());
    auto manifest = imaging::pack_image(raw, dir / "img", *key, options);
    REQUIRE_MESSAGE(manifest, manifest.status().message());
    return *manifest;
}

// Chunks of chunk_size, level 3: what most imaging tests pack.
inline imaging::Manifest pack_signed(const std::filesystem::path& dir,
                                     const std::filesystem::path& raw, std::uint32_t chunk_size) {
    imaging::PackOptions options;
    options.chunk_size = chunk_size;
    options.level = 3;
    return pack_signed(dir, raw, options);
}

}  // namespace testutil
