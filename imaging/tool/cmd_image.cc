// keygen, pack, verify, unpack: the image format's commands.
#include <CLI/CLI.hpp>

#include <atomic>
#include <iostream>

#include "commands.h"
#include "imaging/chunk.h"
#include "imaging/pack.h"
#include "imaging/packed_image.h"
#include "imaging/parallel.h"
#include "imaging/progress.h"
#include "imaging/signing.h"
#include "imaging/target.h"

namespace imaging::tool {


int cmd_keygen(int argc, char** argv) {
    CLI::App app{"Make an Ed25519 key pair for signing images: PREFIX.key (private, 0600) and PREFIX.pub."};
    app.name("imaging keygen");
    std::string prefix;
    app.add_option("--out", prefix, "path prefix of the two key files")->required();
    PARSE_OR_RETURN(app, argc, argv);
    if (auto s = generate_keypair(prefix); !s) return fail(s.message());
    std::cout << "wrote " << prefix << ".key and " << prefix << ".pub\n";
    return 0;
}

int cmd_pack(int argc, char** argv) {
    CLI::App app{"Cut a raw disk image into fixed-size chunks, each an independent zstd frame with "
                 "its SHA-256, skip all-zero chunks, and sign the manifest."};
    app.name("imaging pack");
    std::string raw, outdir, key_path;
    PackOptions opt;
    app.add_option("RAW", raw, "raw disk image (file or block device)")->required();
    app.add_option("OUTDIR", outdir, "image directory to write (manifest.json, chunks.pack)")->required();
    app.add_option("--key", key_path, "Ed25519 private key (from imaging keygen)")->required();
    app.add_option("--name", opt.name, "image name")->capture_default_str();
    app.add_option("--version", opt.version, "image version")->capture_default_str();
    app.add_option("--chunk-size", opt.chunk_size, "chunk size in bytes (multiple of 4096)")->capture_default_str();
    app.add_option("--level", opt.level, "zstd level (1-19)")->capture_default_str()->check(CLI::Range(1, 19));
    app.add_option("--threads", opt.threads, "worker threads (0: one per core)")->capture_default_str();
    PARSE_OR_RETURN(app, argc, argv);
    auto key = SigningKey::load(key_path);
    if (!key) return fail(key.status().message());
    Progress progress("pack", 0);
    opt.on_progress = [&](std::uint64_t done, std::uint64_t total) {
        progress.set_total(total);
        progress.set_done(done);
    };
    auto m = pack_image(raw, outdir, *key, opt);
    progress.finish();
    if (!m) return fail(m.status().message());
    std::size_t zero = 0;
    for (const auto& c : m->chunks) zero += c.is_zero();
    print_result_line({{"name", m->name},
                       {"version", m->version},
                       {"raw_size", m->raw_size},
                       {"chunk_size", m->chunk_size},
                       {"chunks", m->chunks.size()},
                       {"zero_chunks", zero},
                       {"pack_size", m->pack_size},
                       {"sha256", to_hex(m->image_sha256)},
                       {"seconds", progress.seconds()}});
    return 0;
}

int cmd_verify(int argc, char** argv) {
    CLI::App app{"Check an image's manifest signature and every chunk against its SHA-256."};
    app.name("imaging verify");
    std::string dir, pub;
    app.add_option("IMAGEDIR", dir, "image directory")->required();
    app.add_option("--pubkey", pub, "Ed25519 public key (PREFIX.pub)")->required();
    PARSE_OR_RETURN(app, argc, argv);
    auto key = VerifyKey::load(pub);
    if (!key) return fail(key.status().message());
    auto image = PackedImage::open(dir, *key);
    if (!image) return fail(image.status().message());
    const Manifest& m = (*image)->manifest();
    Progress progress("verify", m.raw_size);
    // Every chunk's hash is in the signed manifest in image order, so chunks that all verify
    // are the image whose whole SHA-256 the packer signed; no second pass is needed.
    Status s = parallel_for(m.chunks.size(), 0, [&](std::size_t i) {
        thread_local std::vector<std::uint8_t> buf;  // one per thread, reused chunk to chunk
        buf.resize(m.chunk_length(i));
        Status r = (*image)->read_chunk(i, buf);
        progress.advance(buf.size());
        return r;
    });
    progress.finish();
    if (!s) return fail(s.message());
    print_result_line({{"ok", true}, {"name", m.name}, {"version", m.version},
                       {"chunks", m.chunks.size()}, {"sha256", to_hex(m.image_sha256)},
                       {"seconds", progress.seconds()}});
    return 0;
}

int cmd_unpack(int argc, char** argv) {
    CLI::App app{"Write an image out: a regular file (all-zero chunks become holes) or a block device."};
    app.name("imaging unpack");
    std::string dir, out, pub;
    app.add_option("IMAGEDIR", dir, "image directory")->required();
    app.add_option("OUT", out, "output file or block device")->required();
    app.add_option("--pubkey", pub, "check the manifest signature with this key first");
    PARSE_OR_RETURN(app, argc, argv);
    Result<std::shared_ptr<PackedImage>> image = Status::error("unset");
    if (!pub.empty()) {
        auto key = VerifyKey::load(pub);
        if (!key) return fail(key.status().message());
        image = PackedImage::open(dir, *key);
    } else {
        image = PackedImage::open_unverified(dir);
    }
    if (!image) return fail(image.status().message());
    const Manifest& m = (*image)->manifest();
    auto target = Target::open(out, m.raw_size);
    if (!target) return fail(target.status().message());
    Progress progress("unpack", m.raw_size);
    Status s = parallel_for(m.chunks.size(), 0, [&](std::size_t i) {
        Status r;
        if (m.chunks[i].is_zero()) {
            r = (*target)->zero_range(m.chunk_offset(i), m.chunk_length(i));
        } else {
            thread_local std::vector<std::uint8_t> buf;  // one per thread, reused chunk to chunk
            buf.resize(m.chunk_length(i));
            r = (*image)->read_chunk(i, buf);
            if (r) r = (*target)->write_at(m.chunk_offset(i), buf);
        }
        progress.advance(m.chunk_length(i));
        return r;
    });
    if (s) s = (*target)->sync();
    progress.finish();
    if (!s) return fail(s.message());
    print_result_line({{"ok", true}, {"output", out}, {"bytes_written", m.nonzero_raw_bytes()},
                       {"sha256", to_hex(m.image_sha256)}, {"seconds", progress.seconds()}});
    return 0;
}

}  // namespace imaging::tool
