// A libtorrent disk I/O subsystem over a MemoryPack (memory_pack.h).
// - A receiver's pack, which needs no staging file: received blocks are copied into the pack,
//   a piece's SHA-1 is computed from it (libtorrent compares it with the torrent's and bans
//   peers that send bad pieces, as with its own storage), and peers are served straight from
//   it, without a copy.
// - The seed's pack file, mapped read-only (MemoryPack::map_file): every piece is hash-checked
//   when the torrent is added, then served from the mapping without a read; writes fail.
//
// One torrent per session, whose single file is the pack (image_torrent.h): new_torrent for a
// torrent of another size is refused by failing every job on it with an error. The pack must
// outlive the session.
#pragma once

#include <libtorrent/session_params.hpp>
#include <memory>

#include "imaging/torrent/memory_pack.h"

namespace imaging::torrent {

// For lt::session_params::disk_io_constructor (SessionOptions::disk_io).
lt::disk_io_constructor_type memory_disk_io(std::shared_ptr<MemoryPack> pack);

}  // namespace imaging::torrent
