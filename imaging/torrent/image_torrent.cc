#include "imaging/torrent/image_torrent.h"

#include <fstream>
#include <iterator>

#include <libtorrent/bencode.hpp>
#include <libtorrent/create_torrent.hpp>
#include <libtorrent/hex.hpp>

#include "imaging/torrent/peer_certs.h"

namespace imaging::torrent {
namespace {

Result<ImageTorrent> parse_torrent(std::span<const char> bytes, const VerifyKey* key) {
    lt::error_code ec;
    auto info = std::make_shared<lt::torrent_info>(lt::span<const char>(bytes.data(), bytes.size()),
                                                   ec, lt::from_span);
    if (ec) return Status::error("not a valid torrent: " + ec.message());
    if (!info->v1() || info->v2()) {
        return Status::error("not a v1-only torrent (make it with `imaging torrent`)");
    }
    lt::bdecode_node node = info->info(kManifestInfoKey);
    if (node.type() != lt::bdecode_node::string_t) {
        return Status::error("the torrent carries no signed manifest (make it with `imaging torrent`)");
    }
    lt::string_view json = node.string_value();
    auto manifest = Manifest::parse(std::string_view(json.data(), json.size()));
    if (!manifest) return manifest.status().context("the torrent's manifest");
    if (key) {
        if (Status s = manifest->verify_signature(*key); !s) {
            return Status::error("the torrent's manifest is not signed by the given key: " +
                                 s.message());
        }
    }
    const auto& files = info->files();
    // Pad files (tail padding to a piece boundary, if a creator adds it) hold no data.
    int data_files = 0;
    for (auto f : files.file_range()) data_files += files.pad_file_at(f) ? 0 : 1;
    if (data_files != 1 || files.pad_file_at(lt::file_index_t{0}) ||
        files.file_path(lt::file_index_t{0}) != kPackFile) {
        return Status::error("the torrent does not match its signed manifest: it must hold one file, " +
                             std::string(kPackFile) + ", not " + std::to_string(data_files) +
                             " files starting with '" + files.file_path(lt::file_index_t{0}) + "'");
    }
    auto size = static_cast<std::uint64_t>(files.file_size(lt::file_index_t{0}));
    if (size != manifest->pack_size) {
        return Status::error("the torrent does not match its signed manifest: its pack is " +
                             std::to_string(size) + " bytes, the manifest says " +
                             std::to_string(manifest->pack_size));
    }
    ImageTorrent t;
    lt::string_view ca = info->ssl_cert();
    t.ca_cert_pem.assign(ca.data(), ca.size());
    if (!t.ca_cert_pem.empty() && !is_certificate(t.ca_cert_pem))
        return Status::error("the torrent's CA (its ssl-cert) is not a PEM certificate");
    t.info_hash = info->info_hashes().get(lt::protocol_version::V1).to_string();
    t.info = std::move(info);
    t.manifest = std::move(*manifest);
    return t;
}

}  // namespace

std::string ImageTorrent::info_hash_hex() const {
    return lt::aux::to_hex(info_hash);
}

Result<std::vector<char>> make_image_torrent(const std::filesystem::path& image_dir,
                                             const TorrentOptions& options) {
    auto manifest = load_manifest_unverified(image_dir);
    if (!manifest) return manifest.status();
    if (manifest->pack_size == 0) {
        return Status::error("the image has no stored chunks (all zero): nothing to share");
    }
    std::error_code fsec;
    auto pack_size = std::filesystem::file_size(image_dir / kPackFile, fsec);
    if (fsec) return Status::error((image_dir / kPackFile).string() + ": " + fsec.message());
    if (pack_size != manifest->pack_size) {
        return Status::error((image_dir / kPackFile).string() + " is " + std::to_string(pack_size) +
                             " bytes, its manifest says " + std::to_string(manifest->pack_size));
    }
    int piece = options.piece_size;
    if (piece < (16 << 10) || (piece & (piece - 1)) != 0) {
        return Status::error("piece size must be a power of two of at least 16 KiB");
    }
    try {
        lt::file_storage fs;
        fs.add_file(kPackFile, static_cast<std::int64_t>(pack_size));
        lt::create_torrent ct(fs, piece, lt::create_torrent::v1_only);
        for (const auto& url : options.trackers) ct.add_tracker(url);
        ct.set_creator("imaging");
        if (!options.ca_cert_pem.empty()) {
            if (!is_certificate(options.ca_cert_pem))
                return Status::error("the swarm's CA is not a PEM certificate");
            ct.set_root_cert(options.ca_cert_pem);
        }
        lt::error_code ec;
        lt::set_piece_hashes(ct, image_dir.string(), ec);
        if (ec) return Status::error("hashing " + (image_dir / kPackFile).string() + ": " + ec.message());
        lt::entry e = ct.generate();
        e.dict().erase("creation date");
        e["info"][kManifestInfoKey] = manifest->to_json();
        std::vector<char> out;
        lt::bencode(std::back_inserter(out), e);
        return out;
    } catch (const std::exception& ex) {
        // create_torrent reports errors by throwing; they stop here, as a Status.
        return Status::error(std::string("making the torrent: ") + ex.what());
    }
}

Result<ImageTorrent> load_image_torrent(std::span<const char> bytes, const VerifyKey& key) {
    return parse_torrent(bytes, &key);
}

Result<ImageTorrent> load_image_torrent_unverified(std::span<const char> bytes) {
    return parse_torrent(bytes, nullptr);
}

Result<std::vector<char>> read_torrent_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return errno_status("open " + path.string());
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return errno_status("read " + path.string());
    if (bytes.size() > (64u << 20)) return Status::error(path.string() + ": too large for a torrent");
    return bytes;
}

}  // namespace imaging::torrent
