#include "image_peers.h"

#include <nlohmann/json.hpp>
#include <tuple>

#include "imaging/delivery.h"
#include "imaging/digest.h"
#include "imaging/secret.h"
#include "imaging/torrent/image_torrent.h"
#include "lease_keeper.h"
#include "provisioner/power/sealed_password.h"

namespace provisioner::server {

namespace {

constexpr const char* kSealPurpose = "image-peer-key";

std::string sealed_context(const std::string& server, ImageId image, const std::string& address) {
    return server + " " + std::to_string(image) + " " + address;
}

}  // namespace

std::string encode_peer_sources(const std::string& seal_key, const std::string& server,
                                const std::map<ImageId, PeerSource>& sources) {
    nlohmann::json images = nlohmann::json::object();
    for (const auto& [id, source] : sources) {
        auto sealed =
            power::seal_text(seal_key, kSealPurpose, sealed_context(server, id, source.address),
                             imaging::secret_to_hex(source.key));
        if (!sealed) continue;  // only when OpenSSL fails: that image is not offered
        auto master = power::seal_text(seal_key, kSealPurpose,
                                       "master " + sealed_context(server, id, source.address),
                                       imaging::secret_to_hex(source.master));
        if (!master) continue;
        images[std::to_string(id)] = {{"delta", source.address},
                                      {"receiver_id", source.receiver_id},
                                      {"sealed", *sealed},
                                      {"sealed_master", *master}};
    }
    return nlohmann::json{{"server", server}, {"images", images}}.dump();
}

namespace {

Result<PeerSource> decode_entry(const std::string& seal_key, const std::string& server,
                                const nlohmann::json& entry, ImageId image) {
    if (!entry.is_object() || !entry.contains("delta") || !entry["delta"].is_string() ||
        !entry.contains("receiver_id") || !entry["receiver_id"].is_string() ||
        !entry.contains("sealed") || !entry["sealed"].is_string() ||
        !entry.contains("sealed_master") || !entry["sealed_master"].is_string())
        return Status::error(Code::invalid_argument, "the source of image " +
                                                         std::to_string(image) + " published by " +
                                                         server + " does not read");
    PeerSource source;
    source.server = server;
    source.address = entry["delta"].get<std::string>();
    source.receiver_id = entry["receiver_id"].get<std::string>();
    auto hex =
        power::open_text(seal_key, kSealPurpose, sealed_context(server, image, source.address),
                         entry["sealed"].get<std::string>());
    if (!hex)
        return Status::error("the key of image " + std::to_string(image) + " published by " +
                             server + " does not open (" + hex.status().message() +
                             "; do the servers share site.key?)");
    auto key = imaging::secret_from_hex(*hex);
    if (!key) return key.status();
    source.key = *key;
    auto master_hex = power::open_text(seal_key, kSealPurpose,
                                       "master " + sealed_context(server, image, source.address),
                                       entry["sealed_master"].get<std::string>());
    if (!master_hex)
        return master_hex.status().context("the master of image " + std::to_string(image));
    auto master = imaging::secret_from_hex(*master_hex);
    if (!master) return master.status();
    source.master = *master;
    return source;
}

}  // namespace

namespace {

constexpr const char* kMulticastPurpose = "rack-multicast-key";

std::string multicast_context(const std::string& what, const std::string& server,
                              DeploymentId deployment, const std::string& group, unsigned port) {
    return what + " " + server + " " + std::to_string(deployment) + " " + group + ":" +
           std::to_string(port);
}

}  // namespace

std::string encode_multicast_sources(const std::string& seal_key, const std::string& server,
                                     const std::map<DeploymentId, MulticastSource>& sessions) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [id, m] : sessions) {
        auto secret = power::seal_text(seal_key, kMulticastPurpose,
                                       multicast_context("session", server, id, m.group, m.port),
                                       imaging::secret_to_hex(m.secret));
        auto receipt = power::seal_text(seal_key, kMulticastPurpose,
                                        multicast_context("receipt", server, id, m.group, m.port),
                                        imaging::secret_to_hex(m.receipt_master));
        if (!secret || !receipt) continue;  // only when OpenSSL fails: that session is not offered
        out[std::to_string(id)] = {{"group", m.group},
                                   {"port", m.port},
                                   {"sealed_secret", *secret},
                                   {"sealed_receipt", *receipt}};
    }
    return nlohmann::json{{"server", server}, {"sessions", out}}.dump();
}

Result<std::map<DeploymentId, MulticastSource>> decode_multicast_sources(
    const std::string& seal_key, const std::string& server, const std::string& value) {
    auto doc = nlohmann::json::parse(value, nullptr, false);
    if (!doc.is_object() || !doc.contains("sessions") || !doc["sessions"].is_object())
        return Status::error(Code::invalid_argument,
                             "the multicast sessions of " + server + " do not read");
    std::map<DeploymentId, MulticastSource> out;
    for (const auto& [key, e] : doc["sessions"].items()) {
        char* end = nullptr;
        const long long id = std::strtoll(key.c_str(), &end, 10);
        const bool reads = end != key.c_str() && !*end && id > 0 && e.is_object() &&
                           e.contains("group") && e["group"].is_string() && e.contains("port") &&
                           e["port"].is_number_unsigned() && e["port"].get<std::uint64_t>() > 0 &&
                           e["port"].get<std::uint64_t>() <= 65535 && e.contains("sealed_secret") &&
                           e["sealed_secret"].is_string() && e.contains("sealed_receipt") &&
                           e["sealed_receipt"].is_string();
        if (!reads)
            return Status::error(
                Code::invalid_argument,
                "the multicast session \"" + key + "\" published by " + server + " does not read");
        MulticastSource m;
        m.server = server;
        m.group = e["group"].get<std::string>();
        m.port = std::uint16_t(e["port"].get<std::uint64_t>());
        for (auto [what, field, into] :
             {std::tuple{"session", "sealed_secret", &m.secret},
              std::tuple{"receipt", "sealed_receipt", &m.receipt_master}}) {
            auto hex =
                power::open_text(seal_key, kMulticastPurpose,
                                 multicast_context(what, server, DeploymentId(id), m.group, m.port),
                                 e[field].get<std::string>());
            if (!hex)
                return Status::error("the " + std::string(what) + " secret of deployment " + key +
                                     "'s multicast session published by " + server +
                                     " does not open (" + hex.status().message() + ")");
            auto secret = imaging::secret_from_hex(*hex);
            if (!secret) return secret.status();
            *into = *secret;
        }
        out.emplace(DeploymentId(id), std::move(m));
    }
    return out;
}

void ImagePeers::publish_multicast(const std::map<DeploymentId, MulticastSource>& mine) {
    std::string plain;  // compared unsealed: each sealing draws a fresh nonce
    for (const auto& [id, m] : mine)
        plain += std::to_string(id) + " " + m.group + ":" + std::to_string(m.port) + " " +
                 imaging::secret_to_hex(m.secret) + "\n";
    publish_setting(
        kMulticastPrefix, plain, written_multicast_,
        [&] { return encode_multicast_sources(seal_key_, self_, mine); },
        "rack multicast sessions");
}

std::map<DeploymentId, MulticastSource> ImagePeers::multicast_of(const std::string& server) {
    return read_setting<std::map<DeploymentId, MulticastSource>>(
        kMulticastPrefix, server, [&](const std::string& value) {
            return decode_multicast_sources(seal_key_, server, value);
        });
}

namespace {

constexpr const char* kTemplatePurpose = "rack-template-key";

std::string template_context(const std::string& server, TemplateId id, const std::string& address) {
    return server + " " + std::to_string(id) + " " + address;
}

}  // namespace

std::string encode_template_sources(const std::string& seal_key, const std::string& server,
                                    const std::map<TemplateId, TemplateDelta>& servers) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [id, t] : servers) {
        auto sealed = power::seal_text(seal_key, kTemplatePurpose,
                                       template_context(server, id, t.address), t.secret);
        if (!sealed) continue;  // only when OpenSSL fails: that template is not offered
        out[std::to_string(id)] = {{"delta", t.address}, {"sealed", *sealed}};
    }
    return nlohmann::json{{"server", server}, {"templates", out}}.dump();
}

Result<std::map<TemplateId, TemplateDelta>> decode_template_sources(const std::string& seal_key,
                                                                    const std::string& server,
                                                                    const std::string& value) {
    auto doc = nlohmann::json::parse(value, nullptr, false);
    if (!doc.is_object() || !doc.contains("templates") || !doc["templates"].is_object())
        return Status::error(Code::invalid_argument,
                             "the template servers of " + server + " do not read");
    std::map<TemplateId, TemplateDelta> out;
    for (const auto& [key, e] : doc["templates"].items()) {
        char* end = nullptr;
        const long long id = std::strtoll(key.c_str(), &end, 10);
        if (end == key.c_str() || *end || id <= 0 || !e.is_object() || !e.contains("delta") ||
            !e["delta"].is_string() || !e.contains("sealed") || !e["sealed"].is_string())
            return Status::error(
                Code::invalid_argument,
                "the server of template \"" + key + "\" published by " + server + " does not read");
        TemplateDelta t;
        t.address = e["delta"].get<std::string>();
        auto secret = power::open_text(seal_key, kTemplatePurpose,
                                       template_context(server, TemplateId(id), t.address),
                                       e["sealed"].get<std::string>());
        if (!secret)
            return Status::error("the secret of template " + key + "'s server published by " +
                                 server + " does not open (" + secret.status().message() + ")");
        if (!imaging::secret_from_hex(*secret))
            return Status::error(Code::invalid_argument, "the secret of template " + key +
                                                             "'s server published by " + server +
                                                             " is not 64 hex digits");
        t.secret = *secret;
        out.emplace(TemplateId(id), std::move(t));
    }
    return out;
}

void ImagePeers::publish_templates(const std::map<TemplateId, TemplateDelta>& mine) {
    std::string plain;  // compared unsealed: each sealing draws a fresh nonce
    for (const auto& [id, t] : mine)
        plain += std::to_string(id) + " " + t.address + " " + t.secret + "\n";
    publish_setting(
        kTemplatesPrefix, plain, written_templates_,
        [&] { return encode_template_sources(seal_key_, self_, mine); }, "rack template servers");
}

std::map<TemplateId, TemplateDelta> ImagePeers::templates_of(const std::string& server) {
    return read_setting<std::map<TemplateId, TemplateDelta>>(
        kTemplatesPrefix, server, [&](const std::string& value) {
            return decode_template_sources(seal_key_, server, value);
        });
}

namespace {

constexpr const char* kRackTorrentPurpose = "rack-torrent-seed";

std::string rack_torrent_context(const std::string& server, DeploymentId deployment,
                                 const std::string& rack, const std::string& info_hash_hex) {
    return server + " " + std::to_string(deployment) + " " + rack + " " + info_hash_hex;
}

// hex's bytes; nullopt when it is not an even count of hex digits.
std::optional<std::string> rack_torrent_bytes_of_hex(const std::string& hex) {
    if (hex.size() % 2) return std::nullopt;
    auto digit = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    std::string out(hex.size() / 2, '\0');
    for (std::size_t i = 0; i < out.size(); ++i) {
        const int hi = digit(hex[2 * i]), lo = digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out[i] = char(hi * 16 + lo);
    }
    return out;
}

// The id of a published entry's key ("17"), or 0 when it is not a positive number.
long long published_id_of(const std::string& key) {
    char* end = nullptr;
    const long long id = std::strtoll(key.c_str(), &end, 10);
    return end != key.c_str() && !*end && id > 0 ? id : 0;
}

}  // namespace

std::string encode_rack_torrents(const std::string& seal_key, const std::string& server,
                                 const std::map<DeploymentId, RackTorrentOffer>& offers) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [id, offer] : offers) {
        nlohmann::json racks = nlohmann::json::object();
        for (const auto& [rack, credentials] : offer.racks) {
            auto sealed = power::seal_text(
                seal_key, kRackTorrentPurpose,
                rack_torrent_context(server, id, rack, offer.info_hash_hex), credentials.pem());
            if (sealed) racks[rack] = *sealed;  // else (OpenSSL failed) that rack is not offered
        }
        const auto* bytes = reinterpret_cast<const std::uint8_t*>(offer.torrent.data());
        out[std::to_string(id)] = {{"info_hash", offer.info_hash_hex},
                                   {"torrent", imaging::to_hex({bytes, offer.torrent.size()})},
                                   {"racks", racks}};
    }
    return nlohmann::json{{"server", server}, {"torrents", out}}.dump();
}

Result<std::map<DeploymentId, RackTorrentOffer>> decode_rack_torrents(const std::string& seal_key,
                                                                      const std::string& server,
                                                                      const std::string& value) {
    auto doc = nlohmann::json::parse(value, nullptr, false);
    if (!doc.is_object() || !doc.contains("torrents") || !doc["torrents"].is_object())
        return Status::error(Code::invalid_argument,
                             "the rack torrents of " + server + " do not read");
    std::map<DeploymentId, RackTorrentOffer> out;
    for (const auto& [key, e] : doc["torrents"].items()) {
        const long long id = published_id_of(key);
        // A copy: clang 14 does not let a lambda capture a structured binding.
        const std::string deployment_key = key;
        const auto unreadable = [&](const std::string& why) {
            return Status::error(Code::invalid_argument, "the rack torrent of deployment \"" +
                                                             deployment_key + "\" published by " +
                                                             server + " " + why);
        };
        if (!id || !e.is_object() || !e.contains("info_hash") || !e["info_hash"].is_string() ||
            !e.contains("torrent") || !e["torrent"].is_string() || !e.contains("racks") ||
            !e["racks"].is_object())
            return unreadable("does not read");
        RackTorrentOffer offer;
        offer.info_hash_hex = e["info_hash"].get<std::string>();
        auto bytes = rack_torrent_bytes_of_hex(e["torrent"].get<std::string>());
        if (!bytes) return unreadable("has a torrent that is not hex");
        offer.torrent = std::move(*bytes);
        auto torrent = imaging::torrent::load_image_torrent_unverified(
            std::span<const char>(offer.torrent.data(), offer.torrent.size()));
        if (!torrent)
            return unreadable("has a torrent that does not read: " + torrent.status().message());
        if (torrent->info_hash_hex() != offer.info_hash_hex)
            return unreadable("has a torrent of info-hash " + torrent->info_hash_hex() + ", not " +
                              offer.info_hash_hex);
        for (const auto& [rack, sealed] : e["racks"].items()) {
            if (!sealed.is_string())
                return unreadable("names rack " + rack + " without a certificate");
            auto pem = power::open_text(
                seal_key, kRackTorrentPurpose,
                rack_torrent_context(server, DeploymentId(id), rack, offer.info_hash_hex),
                sealed.get<std::string>());
            if (!pem)
                return unreadable("has a certificate for rack " + rack + " that does not open (" +
                                  pem.status().message() + ")");
            auto credentials = imaging::torrent::parse_peer_credentials(*pem, "");
            if (!credentials)
                return unreadable("has a certificate for rack " + rack +
                                  " that does not read: " + credentials.status().message());
            offer.racks.emplace(rack, std::move(*credentials));
        }
        out.emplace(DeploymentId(id), std::move(offer));
    }
    return out;
}

std::string encode_rack_torrent_seeds(const std::map<DeploymentId, RackTorrentSeed>& seeds) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [id, seed] : seeds)
        out[std::to_string(id)] = {{"address", seed.address}, {"racks", seed.racks}};
    return nlohmann::json{{"seeds", out}}.dump();
}

Result<std::map<DeploymentId, RackTorrentSeed>> decode_rack_torrent_seeds(
    const std::string& server, const std::string& value) {
    auto doc = nlohmann::json::parse(value, nullptr, false);
    if (!doc.is_object() || !doc.contains("seeds") || !doc["seeds"].is_object())
        return Status::error(Code::invalid_argument,
                             "the rack torrent seeds of " + server + " do not read");
    std::map<DeploymentId, RackTorrentSeed> out;
    for (const auto& [key, e] : doc["seeds"].items()) {
        const long long id = published_id_of(key);
        bool reads = id && e.is_object() && e.contains("address") && e["address"].is_string() &&
                     e.contains("racks") && e["racks"].is_array();
        RackTorrentSeed seed;
        if (reads) {
            seed.address = e["address"].get<std::string>();
            for (const auto& rack : e["racks"]) {
                reads = reads && rack.is_string();
                if (rack.is_string()) seed.racks.insert(rack.get<std::string>());
            }
        }
        if (!reads)
            return Status::error(
                Code::invalid_argument,
                "the rack torrent seed \"" + key + "\" published by " + server + " does not read");
        out.emplace(DeploymentId(id), std::move(seed));
    }
    return out;
}

void ImagePeers::publish_torrents(const std::map<DeploymentId, RackTorrentOffer>& mine) {
    std::string plain;  // compared unsealed: each sealing draws a fresh nonce
    for (const auto& [id, offer] : mine) {
        plain += std::to_string(id) + " " + offer.info_hash_hex;
        for (const auto& [rack, _] : offer.racks) plain += " " + rack;
        plain += "\n";
    }
    publish_setting(
        kTorrentsPrefix, plain, written_torrents_,
        [&] { return encode_rack_torrents(seal_key_, self_, mine); }, "rack torrents");
}

std::map<DeploymentId, RackTorrentOffer> ImagePeers::torrents_of(const std::string& server) {
    return read_setting<std::map<DeploymentId, RackTorrentOffer>>(
        kTorrentsPrefix, server,
        [&](const std::string& value) { return decode_rack_torrents(seal_key_, server, value); });
}

void ImagePeers::publish_torrent_seeds(const std::map<DeploymentId, RackTorrentSeed>& mine) {
    const std::string value = encode_rack_torrent_seeds(mine);  // nothing sealed
    publish_setting(
        kTorrentSeedsPrefix, value, written_torrent_seeds_, [&] { return value; },
        "rack torrent seeds");
}

std::map<DeploymentId, RackTorrentSeed> ImagePeers::torrent_seeds_of(const std::string& server) {
    return read_setting<std::map<DeploymentId, RackTorrentSeed>>(
        kTorrentSeedsPrefix, server,
        [&](const std::string& value) { return decode_rack_torrent_seeds(server, value); });
}

Result<std::map<ImageId, PeerSource>> decode_peer_sources(const std::string& seal_key,
                                                          const std::string& server,
                                                          const std::string& value) {
    auto doc = nlohmann::json::parse(value, nullptr, false);
    if (!doc.is_object() || !doc.contains("images") || !doc["images"].is_object())
        return Status::error(Code::invalid_argument,
                             "the image sources of " + server + " do not read");
    std::map<ImageId, PeerSource> out;
    for (const auto& [key, entry] : doc["images"].items()) {
        char* end = nullptr;
        const long long id = std::strtoll(key.c_str(), &end, 10);
        if (end == key.c_str() || *end) continue;
        auto source = decode_entry(seal_key, server, entry, ImageId(id));
        if (!source) return source.status();
        out.emplace(ImageId(id), std::move(*source));
    }
    return out;
}

Result<std::optional<PeerSource>> decode_peer_source(const std::string& seal_key,
                                                     const std::string& server,
                                                     const std::string& value, ImageId image) {
    auto doc = nlohmann::json::parse(value, nullptr, false);
    if (!doc.is_object() || !doc.contains("images") || !doc["images"].is_object())
        return Status::error(Code::invalid_argument,
                             "the image sources of " + server + " do not read");
    auto it = doc["images"].find(std::to_string(image));
    if (it == doc["images"].end()) return std::optional<PeerSource>();
    auto source = decode_entry(seal_key, server, *it, image);
    if (!source) return source.status();
    return std::optional<PeerSource>(std::move(*source));
}

std::map<ImageId, PeerSource> ImagePeers::published(const std::string& server) {
    return read_setting<std::map<ImageId, PeerSource>>(
        kSettingPrefix, server,
        [&](const std::string& value) { return decode_peer_sources(seal_key_, server, value); });
}

void ImagePeers::publish_deliveries(const std::vector<imaging::Delivery>& deliveries) {
    std::string value;
    for (const imaging::Delivery& d : deliveries) {
        value += imaging::encode_delivery(d);
        if (value.back() != '\n') value += '\n';
    }
    if (Status s = store_.set_setting(kDeliveriesPrefix + self_, value); !s)
        log_("publishing this server's deliveries for other servers: " + s.message());
}

std::vector<imaging::Delivery> ImagePeers::deliveries_of(const std::string& server) {
    std::vector<imaging::Delivery> out;
    auto value = store_.get_setting(kDeliveriesPrefix + server);
    if (!value) return out;
    std::size_t at = 0;
    while (at < value->size()) {
        std::size_t end = value->find('\n', at);
        if (end == std::string::npos) end = value->size();
        if (auto d = imaging::decode_delivery(std::string_view(*value).substr(at, end - at)))
            out.push_back(std::move(*d));
        at = end + 1;
    }
    return out;
}

ImagePeers::ImagePeers(Store& store, std::string self, std::string seal_key, Log log)
    : store_(store), self_(std::move(self)), seal_key_(std::move(seal_key)), log_(std::move(log)) {}

void ImagePeers::publish(const std::map<ImageId, PeerSource>& mine) {
    // Compared unsealed: each sealing draws a fresh nonce.
    std::string plain;
    for (const auto& [id, s] : mine)
        plain += std::to_string(id) + " " + s.address + " " + imaging::secret_to_hex(s.key) + "\n";
    publish_setting(
        kSettingPrefix, plain, written_,
        [&] { return encode_peer_sources(seal_key_, self_, mine); }, "image sources");
}

void ImagePeers::publish_setting(const std::string& prefix, const std::string& plain,
                                 std::optional<std::string>& written,
                                 const std::function<std::string()>& encode,
                                 const std::string& what) {
    if (written == plain) return;
    if (Status s = store_.set_setting(prefix + self_, encode()); !s) {
        log_("publishing this server's " + what + ": " + s.message());  // again next time
        return;
    }
    written = plain;
}

template <class Decoded>
Decoded ImagePeers::read_setting(const std::string& prefix, const std::string& server,
                                 const std::function<Result<Decoded>(const std::string&)>& decode) {
    auto value = store_.get_setting(prefix + server);
    if (!value) return {};  // publishes nothing (yet)
    auto decoded = decode(*value);
    if (!decoded) {
        log_(decoded.status().message());
        return {};
    }
    return std::move(*decoded);
}

std::optional<PeerSource> ImagePeers::read_source(const std::string& server, ImageId image) {
    auto value = store_.get_setting(kSettingPrefix + server);
    if (!value) return std::nullopt;  // publishes nothing (yet)
    auto source = decode_peer_source(seal_key_, server, *value, image);
    if (!source) {
        log_(source.status().message());
        return std::nullopt;
    }
    return *source;
}

std::vector<PeerSource> ImagePeers::sources(ImageId image, const std::string& owner) {
    std::vector<std::string> servers;
    if (!owner.empty() && owner != self_) servers.push_back(owner);
    if (auto leases = store_.list_leases())
        for (const LeaseRow& l : *leases)
            if (l.owner != self_ &&
                std::find(servers.begin(), servers.end(), l.owner) == servers.end())
                servers.push_back(l.owner);
    std::vector<PeerSource> out;
    for (const std::string& server : servers)
        if (auto s = read_source(server, image)) out.push_back(std::move(*s));
    return out;
}

}  // namespace provisioner::server
