// The sealed settings servers publish in the shared store (image_peers.h: a server's image
// delta servers "image-delta-servers:ID", a rack server's multicast sessions "rack-multicast:ID"
// and template copies "rack-templates:ID"), and power::open_text() of a sealed secret. The store
// is shared by every server of the site, and a writer of the database must get nothing by a
// crafted value: each decoder reads it whole or refuses it, and never crashes or hangs. The
// input's first byte picks the decoder, the rest is the value (for open_text: three lines,
// purpose, associated data and the sealed text). What decodes is encoded again under the same
// key and decoded once more: it must give the same entries (the round trip that publishing and
// reading make).
//
// Seeds hold real sealed values (under kFuzzSealKey), so that mutations reach past the seal
// into the entries around it. To write them again:
//   FUZZ_SEALED_SEEDS=tests/fuzz/corpus/fuzz_sealed_settings build-fuzz/fuzz/fuzz_sealed_settings
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <string_view>

#include "image_peers.h"
#include "provisioner/power/sealed_password.h"

using namespace provisioner;
using namespace provisioner::server;

namespace {

const std::string kFuzzSealKey =
    "-----BEGIN PRIVATE KEY----- the fuzzed site -----END PRIVATE KEY-----";
const std::string kFuzzServer = "pvF-1-abcdef";

enum SealedDecoder : std::uint8_t { kPeerSources, kPeerSource, kMulticast, kTemplates, kOpenText };

void sealed_fuzz_check(bool holds) {
    if (!holds) std::abort();
}

bool same_peer_sources(const std::map<ImageId, PeerSource>& a,
                       const std::map<ImageId, PeerSource>& b) {
    if (a.size() != b.size()) return false;
    for (const auto& [id, s] : a) {
        auto it = b.find(id);
        if (it == b.end() || it->second.address != s.address || it->second.key != s.key ||
            it->second.master != s.master)
            return false;
    }
    return true;
}

std::string_view sealed_fuzz_line(std::string_view& text) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    return line;
}

void write_sealed_seed(const std::string& dir, const std::string& name, SealedDecoder decoder,
                       const std::string& value) {
    std::ofstream out(dir + "/" + name, std::ios::binary);
    out.put(char(decoder));
    out << value;
}

// FUZZ_SEALED_SEEDS=DIR: writes the seed corpus into DIR and exits.
void write_sealed_seeds(const std::string& dir) {
    imaging::Secret one{}, two{};
    one.fill(0x11);
    two.fill(0x22);
    PeerSource source;
    source.server = kFuzzServer;
    source.address = "10.77.0.2:21000";
    source.key = one;
    source.master = two;
    const std::string peers =
        encode_peer_sources(kFuzzSealKey, kFuzzServer, {{3, source}, {70000, source}});
    write_sealed_seed(dir, "peer_sources", kPeerSources, peers);
    write_sealed_seed(dir, "peer_source", kPeerSource, peers);
    MulticastSource session;
    session.server = kFuzzServer;
    session.group = "239.192.77.9";
    session.port = 7790;
    session.secret = one;
    session.receipt_master = two;
    write_sealed_seed(dir, "multicast", kMulticast,
                      encode_multicast_sources(kFuzzSealKey, kFuzzServer, {{12, session}}));
    write_sealed_seed(dir, "templates", kTemplates,
                      encode_template_sources(kFuzzSealKey, kFuzzServer,
                                              {{5, {"10.77.0.2:22000", std::string(64, 'a')}},
                                               {6, {"[fd00::2]:22001", std::string(64, 'b')}}}));
    auto sealed = power::seal_text(kFuzzSealKey, "hot-template-secret", "pvF|5|10.77.0.2:22000",
                                   std::string(64, 'c'));
    if (sealed)
        write_sealed_seed(dir, "open_text", kOpenText,
                          "hot-template-secret\npvF|5|10.77.0.2:22000\n" + *sealed);
    write_sealed_seed(dir, "empty_templates", kTemplates, "{\"templates\": {}}");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    if (const char* dir = std::getenv("FUZZ_SEALED_SEEDS")) {
        write_sealed_seeds(dir);
        std::exit(0);
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const auto decoder = SealedDecoder(data[0] % 5);
    const std::string value(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (decoder) {
        case kPeerSources: {
            auto got = decode_peer_sources(kFuzzSealKey, kFuzzServer, value);
            if (!got) break;
            auto again = decode_peer_sources(kFuzzSealKey, kFuzzServer,
                                             encode_peer_sources(kFuzzSealKey, kFuzzServer, *got));
            sealed_fuzz_check(again && same_peer_sources(*got, *again));
            break;
        }
        case kPeerSource: {
            // The image id from the value's length: any id, including absent ones.
            auto got = decode_peer_source(kFuzzSealKey, kFuzzServer, value, ImageId(size % 8));
            if (got && *got) sealed_fuzz_check(!(*got)->address.empty());
            break;
        }
        case kMulticast: {
            auto got = decode_multicast_sources(kFuzzSealKey, kFuzzServer, value);
            if (!got) break;
            auto again =
                decode_multicast_sources(kFuzzSealKey, kFuzzServer,
                                         encode_multicast_sources(kFuzzSealKey, kFuzzServer, *got));
            sealed_fuzz_check(again && again->size() == got->size());
            for (const auto& [id, m] : *got) {
                auto it = again->find(id);
                sealed_fuzz_check(it != again->end() && it->second.group == m.group &&
                                  it->second.port == m.port && it->second.secret == m.secret &&
                                  it->second.receipt_master == m.receipt_master);
            }
            break;
        }
        case kTemplates: {
            auto got = decode_template_sources(kFuzzSealKey, kFuzzServer, value);
            if (!got) break;
            auto again =
                decode_template_sources(kFuzzSealKey, kFuzzServer,
                                        encode_template_sources(kFuzzSealKey, kFuzzServer, *got));
            sealed_fuzz_check(again && again->size() == got->size());
            for (const auto& [id, t] : *got) {
                auto it = again->find(id);
                sealed_fuzz_check(it != again->end() && it->second.address == t.address &&
                                  it->second.secret == t.secret);
            }
            break;
        }
        case kOpenText: {
            std::string_view text(value);
            const std::string purpose(sealed_fuzz_line(text));
            const std::string context(sealed_fuzz_line(text));
            const std::string sealed(text);
            auto opened = power::open_text(kFuzzSealKey, purpose, context, sealed);
            if (!opened) break;
            // What opened seals again and opens to the same text; under another context, never.
            auto resealed = power::seal_text(kFuzzSealKey, purpose, context, *opened);
            sealed_fuzz_check(resealed.is_ok());
            auto back = power::open_text(kFuzzSealKey, purpose, context, *resealed);
            sealed_fuzz_check(back && *back == *opened);
            sealed_fuzz_check(!power::open_text(kFuzzSealKey, purpose, context + "x", sealed));
            break;
        }
    }
    return 0;
}
