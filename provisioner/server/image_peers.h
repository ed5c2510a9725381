// How a rack server finds a peer that has an image (issue 20, item 4). Every server publishes
// in the store where its delta servers of images listen (setting "image-delta-servers:ID", ID
// its server id) with a key that lets a peer in: receiver_key(the delta server's secret,
// "peers") (imaging/delivery.h), sealed under the site key (the key opens only on a server of
// the site: power::seal_text, the image id and address as associated data). A peer's fetch is
// an identified session, so the publishing server's delivery log records it as receiver
// "peers" (what it sent, to which address); the orchestrator counts only hosts' deliveries.
//
// A rack server looks for an image first at the deployment's owner (its lease), then at every
// other server holding a lease (a live server). Published entries of a dead server remain until
// it publishes again or the servers' sweep deletes them (server_presence.h: 10 minutes or more
// after its presence lease expired); a fetch from one fails to connect and the next source is
// tried.
//
// Thread-safe: publish() and sources() take no lock of their own beyond publish's record of
// what it last wrote; call them from one thread (the rack image thread).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hot_templates.h"
#include "imaging/delivery.h"
#include "provisioner/store.h"
#include "rack_image_cache.h"

namespace provisioner::server {

class ImagePeers {
  public:
    static constexpr const char* kSettingPrefix = "image-delta-servers:";
    static constexpr const char* kReceiverId = "peers";
    using Log = std::function<void(const std::string&)>;

    // seal_key: the site key's text (every server of the site holds it). All must outlive it.
    ImagePeers(Store& store, std::string self, std::string seal_key, Log log);

    // This server's image delta servers that listen now (Orchestrator::image_sources()):
    // written to the store when they differ from what was last written.
    void publish(const std::map<ImageId, PeerSource>& mine);
    // Where image can be fetched from, the owner's first; never this server itself.
    std::vector<PeerSource> sources(ImageId image, const std::string& owner);
    // Everything server publishes (empty when nothing, or it does not read: logged).
    std::map<ImageId, PeerSource> published(const std::string& server);
    // Per-rack imaging: the deliveries this server's delta servers confirmed to hosts of other
    // servers' deployments (setting "rack-deliveries:ID", one delivery line each), and another
    // server's, which its owner takes in (Orchestrator::absorb_peer_deliveries()).
    static constexpr const char* kDeliveriesPrefix = "rack-deliveries:";
    void publish_deliveries(const std::vector<imaging::Delivery>& deliveries);
    std::vector<imaging::Delivery> deliveries_of(const std::string& server);
    // A rack server's multicast sessions of other servers' deployments (setting
    // "rack-multicast:ID", its secrets sealed under the site key as the delta keys are), written
    // when they differ from what was last written; and another server's, by deployment.
    static constexpr const char* kMulticastPrefix = "rack-multicast:";
    void publish_multicast(const std::map<DeploymentId, MulticastSource>& mine);
    std::map<DeploymentId, MulticastSource> multicast_of(const std::string& server);
    // A rack server's delta servers of its copies of the hot templates (setting
    // "rack-templates:ID": address, and its secret sealed under the site key), which the
    // answers to its racks' Dom0 reports name (rack_templates.h); written when they differ from
    // what was last written; and another server's, by template.
    static constexpr const char* kTemplatesPrefix = "rack-templates:";
    void publish_templates(const std::map<TemplateId, TemplateDelta>& mine);
    std::map<TemplateId, TemplateDelta> templates_of(const std::string& server);

    // BitTorrent in the rack. The owner's side: what a rack server needs to seed each of this
    // server's torrent deployments in its racks (setting "rack-torrents:ID", the certificates
    // sealed under the site key), written when it differs from what was last written (a
    // deployment that ended is gone from it); and another server's, by deployment.
    static constexpr const char* kTorrentsPrefix = "rack-torrents:";
    void publish_torrents(const std::map<DeploymentId, RackTorrentOffer>& mine);
    std::map<DeploymentId, RackTorrentOffer> torrents_of(const std::string& server);
    // The rack server's side: where its seeds listen (setting "rack-torrent-seeds:ID", nothing
    // secret), for the owners' trackers; and another server's, by deployment.
    static constexpr const char* kTorrentSeedsPrefix = "rack-torrent-seeds:";
    void publish_torrent_seeds(const std::map<DeploymentId, RackTorrentSeed>& mine);
    std::map<DeploymentId, RackTorrentSeed> torrent_seeds_of(const std::string& server);

  private:
    std::optional<PeerSource> read_source(const std::string& server, ImageId image);
    // This server's setting prefix + self: written as encode() makes it unless plain (what it
    // says, unsealed: each sealing draws a fresh nonce) is what was last written (written); a
    // failure is logged ("publishing this server's WHAT: ...") and tried again at the next call.
    void publish_setting(const std::string& prefix, const std::string& plain,
                         std::optional<std::string>& written,
                         const std::function<std::string()>& encode, const std::string& what);
    // Another server's setting prefix + server, decoded: empty when it publishes none, and when
    // it does not read or open (logged).
    template <class Decoded>
    Decoded read_setting(const std::string& prefix, const std::string& server,
                         const std::function<Result<Decoded>(const std::string&)>& decode);

    Store& store_;
    const std::string self_;
    const std::string seal_key_;
    Log log_;
    std::optional<std::string> written_;
    std::optional<std::string> written_multicast_;
    std::optional<std::string> written_templates_;
    std::optional<std::string> written_torrents_;
    std::optional<std::string> written_torrent_seeds_;
};

// The JSON of a server's published sources and back (the unit tests' and the store's form).
std::string encode_peer_sources(const std::string& seal_key, const std::string& server,
                                const std::map<ImageId, PeerSource>& sources);
// Every entry of a published value; an error when one does not read or open.
Result<std::map<ImageId, PeerSource>> decode_peer_sources(const std::string& seal_key,
                                                          const std::string& server,
                                                          const std::string& value);
// The JSON of a rack server's published multicast sessions and back; decoding fails as a whole
// when an entry does not read or open.
std::string encode_multicast_sources(const std::string& seal_key, const std::string& server,
                                     const std::map<DeploymentId, MulticastSource>& sessions);
Result<std::map<DeploymentId, MulticastSource>> decode_multicast_sources(
    const std::string& seal_key, const std::string& server, const std::string& value);
// The JSON of a rack server's published template servers and back; decoding fails as a whole
// when an entry does not read or open (another site's key, or moved to another server, template
// or address: those are the sealed secret's associated data).
std::string encode_template_sources(const std::string& seal_key, const std::string& server,
                                    const std::map<TemplateId, TemplateDelta>& servers);
Result<std::map<TemplateId, TemplateDelta>> decode_template_sources(const std::string& seal_key,
                                                                    const std::string& server,
                                                                    const std::string& value);
// The JSON of an owner's published rack torrents and back; decoding fails as a whole when an
// entry does not read or open (another site's key; moved to another server, deployment, rack or
// info-hash: the sealed certificate's associated data), or its torrent is not of its info-hash.
std::string encode_rack_torrents(const std::string& seal_key, const std::string& server,
                                 const std::map<DeploymentId, RackTorrentOffer>& offers);
Result<std::map<DeploymentId, RackTorrentOffer>> decode_rack_torrents(const std::string& seal_key,
                                                                      const std::string& server,
                                                                      const std::string& value);
// The JSON of a rack server's published seeds and back.
std::string encode_rack_torrent_seeds(const std::map<DeploymentId, RackTorrentSeed>& seeds);
Result<std::map<DeploymentId, RackTorrentSeed>> decode_rack_torrent_seeds(const std::string& server,
                                                                          const std::string& value);
// The entry for image in a published value; nullopt when absent or it does not open.
Result<std::optional<PeerSource>> decode_peer_source(const std::string& seal_key,
                                                     const std::string& server,
                                                     const std::string& value, ImageId image);

}  // namespace provisioner::server
