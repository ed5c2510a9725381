#include <doctest/doctest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "imaging/chunk.h"
#include "imaging/pack.h"
#include "imaging/packed_image.h"
#include "imaging/signing.h"
#include "test_pack.h"
#include "test_util.h"

using namespace imaging;
using testutil::TempDir;

namespace {

struct PackedFixture {
    TempDir dir;
    std::vector<std::uint8_t> raw;
    Manifest manifest;
    VerifyKey pub;

    explicit PackedFixture(std::size_t chunks = 7, std::uint32_t chunk_size = 64 * 1024) {
        raw = testutil::sample_image(chunks, chunk_size, 42);
        raw.resize(raw.size() - 1000);  // a short last chunk
        testutil::write_file(dir / "raw", raw);
        PackOptions opt;
        opt.chunk_size = chunk_size;
        opt.name = "test";
        opt.version = "3";
        opt.level = 3;
        manifest = testutil::pack_signed(dir.path(), dir / "raw", opt);
        auto p = VerifyKey::load(dir / "k.pub");
        REQUIRE(p);
        pub = *p;
    }
};

}  // namespace

TEST_CASE("pack cuts an image into verified chunks and skips zero chunks") {
    PackedFixture f;
    const Manifest& m = f.manifest;
    CHECK(m.raw_size == f.raw.size());
    CHECK(m.chunks.size() == 7);
    CHECK(m.chunk_length(6) == 64 * 1024 - 1000);
    CHECK(m.image_sha256 == sha256(f.raw));
    std::size_t zero = 0;
    for (const auto& c : m.chunks) zero += c.is_zero();
    CHECK(zero == 2);  // chunks 2 and 5
    CHECK(m.chunks[2].is_zero());
    CHECK(m.stored_bytes() == m.pack_size);
    CHECK(std::filesystem::file_size(f.dir / "img" / kPackFile) == m.pack_size);

    auto image = PackedImage::open(f.dir / "img", f.pub);
    REQUIRE(image);
    for (std::size_t i = 0; i < m.chunks.size(); ++i) {
        std::vector<std::uint8_t> buf(m.chunk_length(i));
        REQUIRE((*image)->read_chunk(i, buf));
        CHECK(std::equal(buf.begin(), buf.end(), f.raw.begin() + std::ptrdiff_t(m.chunk_offset(i))));
    }
}

TEST_CASE("the manifest round-trips through JSON and its signature covers every field") {
    PackedFixture f;
    auto parsed = Manifest::parse(f.manifest.to_json());
    REQUIRE(parsed);
    CHECK(parsed->verify_signature(f.pub));
    CHECK(parsed->signed_payload() == f.manifest.signed_payload());

    Manifest renamed = *parsed;
    renamed.version = "4";
    CHECK_FALSE(renamed.verify_signature(f.pub));
    Manifest rehashed = *parsed;
    rehashed.chunks[1].sha256[0] ^= 1;
    CHECK_FALSE(rehashed.verify_signature(f.pub));
    Manifest unsigned_manifest = *parsed;
    unsigned_manifest.signature.clear();
    CHECK(unsigned_manifest.verify_signature(f.pub).message() == "manifest is not signed");
}

TEST_CASE("a manifest signed by another key is refused") {
    PackedFixture f;
    TempDir other;
    REQUIRE(generate_keypair(other / "x"));
    auto wrong = VerifyKey::load(other / "x.pub");
    REQUIRE(wrong);
    auto image = PackedImage::open(f.dir / "img", *wrong);
    REQUIRE_FALSE(image);
    CHECK(image.status().message().find("signature does not verify") != std::string::npos);
}

TEST_CASE("a tampered manifest file is refused") {
    PackedFixture f;
    auto path = f.dir / "img" / kManifestFile;
    auto text = testutil::read_file(path);
    std::string s(text.begin(), text.end());
    auto at = s.find("\"name\": \"test\"");
    REQUIRE(at != std::string::npos);
    s.replace(at, 14, "\"name\": \"tost\"");
    testutil::write_file(path, {s.begin(), s.end()});
    CHECK_FALSE(PackedImage::open(f.dir / "img", f.pub));
}

TEST_CASE("a corrupt chunk is detected and never returned") {
    PackedFixture f;
    const auto& c = f.manifest.chunks[1];
    {
        std::fstream pack(f.dir / "img" / kPackFile, std::ios::in | std::ios::out | std::ios::binary);
        pack.seekp(std::streamoff(c.pack_offset + c.pack_size / 2));
        pack.put('\x5a');
    }
    auto image = PackedImage::open(f.dir / "img", f.pub);
    REQUIRE(image);
    std::vector<std::uint8_t> buf(f.manifest.chunk_length(1));
    Status s = (*image)->read_chunk(1, buf);
    CHECK_FALSE(s);
    CHECK(s.message().find("chunk 1") != std::string::npos);
    std::vector<std::uint8_t> ok(f.manifest.chunk_length(0));
    CHECK((*image)->read_chunk(0, ok));
}

TEST_CASE("a truncated pack is refused when the image is opened") {
    PackedFixture f;
    std::filesystem::resize_file(f.dir / "img" / kPackFile, f.manifest.pack_size - 10);
    auto image = PackedImage::open(f.dir / "img", f.pub);
    REQUIRE_FALSE(image);
    CHECK(image.status().message().find("truncated") != std::string::npos);
}

TEST_CASE("decode_chunk rejects wrong lengths, garbage and a wrong hash") {
    auto raw = testutil::random_bytes(10000, 7);
    auto frame = compress_chunk(raw, 3);
    std::vector<std::uint8_t> out(raw.size());
    CHECK(decode_chunk(frame, out, sha256(raw)));
    CHECK(out == raw);
    std::vector<std::uint8_t> shorter(raw.size() - 1);
    CHECK_FALSE(decode_chunk(frame, shorter, sha256(raw)));
    Digest wrong = sha256(raw);
    wrong[5] ^= 0x80;
    CHECK_FALSE(decode_chunk(frame, out, wrong));
    std::vector<std::uint8_t> garbage(100, 0x42);
    CHECK_FALSE(decode_chunk(garbage, out, sha256(raw)));
}

TEST_CASE("malformed manifests are rejected with a reason") {
    CHECK(Manifest::parse("not json").status().message() ==
          "manifest is not valid JSON: malformed JSON at byte 2");
    CHECK_FALSE(Manifest::parse("{}"));
    {  // found by fuzz_manifest: a float or an over-wide integer where a size belongs
        PackedFixture g;
        auto bad = nlohmann::json::parse(g.manifest.to_json());
        bad["raw_size"] = 3e63;
        CHECK(Manifest::parse(bad.dump()).status().message() ==
              "manifest: raw_size is not an unsigned integer of 64 bits");
        bad = nlohmann::json::parse(g.manifest.to_json());
        bad["chunk_size"] = (std::uint64_t(1) << 32) + 65536;  // was read as 65536
        CHECK(Manifest::parse(bad.dump()).status().message() ==
              "manifest: chunk_size is not an unsigned integer of 32 bits");
    }
    PackedFixture f;
    auto j = nlohmann::json::parse(f.manifest.to_json());
    j["chunks"].erase(0);
    auto r = Manifest::parse(j.dump());
    REQUIRE_FALSE(r);
    CHECK(r.status().message().find("chunks listed") != std::string::npos);
    j = nlohmann::json::parse(f.manifest.to_json());
    j["chunks"][1][1] = f.manifest.pack_size + 5;
    r = Manifest::parse(j.dump());
    REQUIRE_FALSE(r);
    CHECK(r.status().message().find("outside the pack") != std::string::npos);
}
