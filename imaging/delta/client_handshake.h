// The receiver's side of a delta session's start and end, shared by the two receivers: one
// that writes a raw disk (receiver.h) and one that writes a pack directory (pack_receiver.h).
// handshake(): kHello, the mutual authentication with a secret (handshake_auth.h), and the
// server's manifest, checked against the key and the pin before anything else is read.
// confirm_delivery(): the receipt and possession check of an identified receiver (PROTOCOL.md,
// "Proof of receipt"), once every chunk is verified and synced.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "framed_stream.h"
#include "handshake_auth.h"
#include "imaging/manifest.h"
#include "imaging/secret.h"
#include "imaging/signing.h"
#include "imaging/status.h"

namespace imaging::delta {

// The nonces of an authenticated handshake, which a receipt is bound to.
struct Nonces {
    Nonce client{}, server{};
};

// A refusal (no or a wrong server proof, an unsigned or unexpected manifest) is an error before
// any answer of the server past its proof is read.
Result<Manifest> handshake(FramedStream& stream, const VerifyKey& key, const ManifestPin& expect,
                           const std::optional<Secret>& secret, const std::string& receiver_id,
                           std::chrono::seconds timeout, Nonces& nonces);

// Reads chunk's raw bytes (chunk_length of them) back from what the receiver wrote.
using ChunkReader = std::function<Status(std::uint32_t chunk, std::span<std::uint8_t> out)>;

// Sends the receipt, answers the possession check from read_chunk and waits for the
// acknowledgement; an error says the server did not confirm delivery.
Status confirm_delivery(FramedStream& stream, const Manifest& m, const Secret& key,
                        const Nonces& nonces, std::chrono::seconds timeout,
                        const ChunkReader& read_chunk);

}  // namespace imaging::delta
