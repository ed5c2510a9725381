// A libtorrent disk I/O subsystem over a MemoryPack (memory_pack.h).
// - A receiver's pack, which needs no staging file: received blocks are copied into the pack,
//   and peers are served straight from it, without a copy. A piece's hash is answered from
//   the SHA-256 of the chunks over it (ChunkVerification below, piece_verifier.h), so its bytes
//   are not read again for SHA-1; libtorrent compares the answer with the torrent's and bans
//   peers that send bad pieces, as with its own storage. Without a ChunkVerification it
//   computes the piece's SHA-1.
// - The seed's pack file, mapped read-only (MemoryPack::map_file): every piece is hash-checked
//   when the torrent is added, then served from the mapping without a read; writes fail.
//
// One torrent per session, whose single file is the pack (image_torrent.h): new_torrent for a
// torrent of another size is refused by failing every job on it with an error. The pack must
// outlive the session.
#pragma once

#include <libtorrent/session_params.hpp>
#include <libtorrent/torrent_info.hpp>
#include <atomic>
#include <functional>
#include <memory>

#include "imaging/manifest.h"
#include "imaging/status.h"
#include "imaging/torrent/memory_pack.h"

namespace imaging::torrent {

// How a receiver's disk I/O has its chunks verified. torrent and manifest must outlive the
// session.
struct ChunkVerification {
    std::shared_ptr<const lt::torrent_info> torrent;  // the pieces' expected SHA-1
    const Manifest* manifest = nullptr;
    // Called on libtorrent's network thread for a chunk whose frame is whole in the pack:
    // decodes, verifies and writes it elsewhere, then calls done(true), or done(false) when the
    // frame does not decode to the manifest's chunk (a bad piece under it), from any thread,
    // once. A failure of its own (a write) is decode's to report; done is then never called.
    std::function<void(std::size_t chunk, std::function<void(bool verified)> done)> decode;
    // The torrent does not match its manifest (called on the network thread).
    std::function<void(Status)> fail;
    std::atomic<std::uint64_t> pieces_hashed{0};  // by SHA-1, set by the disk I/O
};

// For lt::session_params::disk_io_constructor (SessionOptions::disk_io). verification: a
// receiver's (its pack writable); null: pieces are hashed with SHA-1 (a seed's mapped pack).
lt::disk_io_constructor_type memory_disk_io(std::shared_ptr<MemoryPack> pack,
                                            std::shared_ptr<ChunkVerification> verification = nullptr);

}  // namespace imaging::torrent
