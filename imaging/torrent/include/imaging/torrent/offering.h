// Offering: super-seeding between our seed and our receivers (the seed sends about one copy of
// the image in all, and each host gets pieces from the seed as fast as it takes them).
//
// BEP 16 super-seeding, as libtorrent 2.0.8 does it, hides the seed's pieces and offers each
// peer one piece at a time. Its first offer is dropped (made while the handshake is still
// open), so a host gets its first piece only from the 10 s retry: every host waited 10 s
// before its first byte. The offering seed does the same job from outside libtorrent:
// - the seed is a plain seed to libtorrent, with a fingerprint of its own
//   (kOfferingSeedFingerprint);
// - a receiver ignores that seed's have-all or bitfield (offer_taking_plugin), so it sees a
//   peer with no pieces;
// - the seed then sends the receiver HAVE messages of its own choosing (offering_seed_plugin):
//   a few pieces that no other host holds or has been offered, a new one whenever the receiver
//   announces one of them complete.
// A client without the receiver plugin takes the have-all and fetches freely, as from a plain
// seed. A host that has nothing left to be offered fetches the rest from the other hosts; if
// it gets under 8 MiB from them in 3 s (it cannot reach them, they upload too slowly, or it
// joined late), the seed offers it pieces that others hold too, until it gets that much
// from them again.
#pragma once

#include <memory>

#include <libtorrent/extensions.hpp>

namespace imaging::torrent {

// Fingerprint of a seed that offers (lan_settings.h has the plain seed's and the receivers').
inline constexpr const char* kOfferingSeedFingerprint = "-IO0100-";

// For the seed's torrent: offers pieces to receivers (peers with kReceiverFingerprint),
// `pieces_in_flight` at a time per receiver.
std::shared_ptr<lt::torrent_plugin> offering_seed_plugin(int num_pieces, int pieces_in_flight);

// For a receiver's torrent: ignores an offering seed's have-all and bitfield, so that only
// what it offers is requested from it.
std::shared_ptr<lt::torrent_plugin> offer_taking_plugin();

}  // namespace imaging::torrent
