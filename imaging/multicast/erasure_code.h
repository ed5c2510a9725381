// A systematic MDS erasure code over GF(2^8) for one parity block (PROTOCOL.md, "Repair"):
// the block's k <= kParityBlock fragments, each zero-padded to the fragment payload, are the
// data symbols; repair symbol j (0 <= j < kMaxRepairIndex) is sum_i C[j][i] * data_i with the
// Cauchy matrix C[j][i] = 1 / ((kParityBlock + j) xor i). Every square submatrix of a Cauchy
// matrix is invertible, so ANY e distinct repair symbols rebuild ANY e missing fragments of the
// block: one repair datagram serves receivers that lost different fragments.
//
// Pure functions, no state; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "packet.h"

namespace imaging::multicast {

// out (payload bytes) = repair symbol `index` of `data` (k fragments, each at most out.size()
// bytes, shorter ones read as zero-padded). index < kMaxRepairIndex, data.size() <= kParityBlock.
void encode_repair(std::span<const std::span<const std::uint8_t>> data, std::uint32_t index,
                   std::span<std::uint8_t> out);

struct RepairSymbol {
    std::uint32_t index = 0;
    std::span<const std::uint8_t> bytes;  // payload bytes
};

// Rebuilds the missing fragments of a block. `data` has k entries: a held fragment's bytes
// (zero-padded as in encode_repair), or an empty span for a missing one. `repairs` must hold at
// least as many distinct indices as there are missing fragments (only that many are used).
// Returns the missing fragments, in position order, each `payload` bytes long (the caller cuts
// the last fragment of an object to its length); nullopt when there are too few distinct
// repairs. A forged repair yields wrong bytes, which chunk verification catches.
std::optional<std::vector<std::vector<std::uint8_t>>> decode_block(
    std::span<const std::span<const std::uint8_t>> data, std::span<const RepairSymbol> repairs,
    std::size_t payload);

}  // namespace imaging::multicast
