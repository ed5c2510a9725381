// provisionerd's HTTP surface (provisioner/API.md): the operator API, the agent API, and the
// unauthenticated boot paths (iPXE scripts, netboot files, torrents), mounted on one Router
// from one route table (api_routes.h).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "auth.h"
#include "imaging/signing.h"
#include "imaging/torrent/tracker.h"
#include "config.h"
#include "disk_transfers.h"
#include "discovery_gate.h"
#include "host_list_cache.h"
#include "template_list_cache.h"
#include "host_monitor.h"
#include "latest_vm_metrics.h"
#include "import_paths.h"
#include "jobs.h"
#include "metrics_history.h"
#include "netservice_board.h"
#include "imaging/http/router.h"
#include "orchestrator.h"
#include "power_service.h"
#include "provisioner/store.h"
#include "server_metrics.h"
#include "service_board.h"
#include "site_apply_lease.h"
#include "ui_feed.h"
#include "ui_sessions.h"
#include "vm_registry.h"

namespace provisioner::server {

// Told when a host is added, changed or removed, so DHCP follows the inventory.
class HostObserver {
  public:
    virtual ~HostObserver() = default;
    virtual void host_changed(const Host& host) = 0;
    virtual void host_removed(const Host& host) = 0;
};

// Everything a handler may use; all of it outlives the HTTP server.
struct ApiContext {
    Store& store;
    Authenticator& auth;
    Orchestrator& orchestrator;
    VmRegistry& vms;  // the Dom0 agents' reports and the VM action queue
    ServiceBoard& services;  // the site's services and the guests' reports of them
    HostObserver& hosts;
    const ServerConfig& config;
    const imaging::VerifyKey& image_key;  // imported images must be signed by its pair
    std::string version;
    DiscoveryGate& discovery;  // bounds on unknown MACs becoming hosts
    // The disks of cold moves, read back from the store at start (main.cc); when absent,
    // mount_api makes one on the store and reads it back there.
    std::shared_ptr<DiskTransfers> disks = nullptr;
    // What is wrong with DHCP for /health ("" when well); empty when the server runs none.
    std::function<std::string()> dhcp_problem = {};
    // A rack server (--rack): whether it serves a rack now (rack_dhcp.h), for its iPXE
    // scripts; empty: every host's script is served here.
    std::function<bool(const std::string& rack)> serves_rack = {};
    // Where long operations (template add, image import) run; mount_api makes one with the
    // default limits when absent.
    std::shared_ptr<Jobs> jobs = nullptr;
    // Site apply as one server's job at a time (site_apply_lease.h); absent: every apply goes
    // ahead (one server alone, or a test).
    std::shared_ptr<SiteApplyLease> site_apply = nullptr;
    // The last answers of GET /api/v1/hosts, served while the store has not changed.
    std::shared_ptr<HostListCache> host_lists = std::make_shared<HostListCache>();
    // The template catalog at the store's version, for the answers to Dom0 reports.
    std::shared_ptr<TemplateListCache> template_lists = std::make_shared<TemplateListCache>();
    // The Dom0 agents' heartbeats and latest host metrics (main.cc makes one on the store and
    // the real clock); when absent, reports are answered without an interval and nothing is
    // watched.
    std::shared_ptr<HostMonitor> monitor = nullptr;
    // The web UI's sessions and live stream (ui_sessions.h, ui_feed.h); mount_api makes them
    // on the store and the real clock when absent, and starts the feed.
    std::shared_ptr<UiSessions> ui_sessions = nullptr;
    std::shared_ptr<UiFeed> ui_feed = nullptr;
    // Each VM's latest libvirt metrics, from the Dom0 reports (in memory; GET /metrics).
    std::shared_ptr<LatestVmMetrics> vm_metrics = std::make_shared<LatestVmMetrics>();
    // Every host's and VM's metrics history (main.cc makes one under STATE/history); when
    // absent, reports are not recorded and the history routes answer 404.
    std::shared_ptr<MetricsHistory> history = nullptr;
    // The server's own counters for /metrics (server_metrics.h); mount_api makes them from the
    // routes it mounts and makes the router count every request there.
    std::shared_ptr<ServerMetrics> server_metrics = nullptr;
    // Hosts' BMCs and power (power_service.h); mount_api makes one on the store, the host-token
    // secret and the real drivers when absent, wires it to the orchestrator and starts it.
    std::shared_ptr<PowerService> power = nullptr;
    PowerService::Options power_options = {};  // threads, retries; the times from config
    // The site's network services and what the agents report installed (netservice_board.h);
    // mount_api makes one on the store and loads it when absent.
    std::shared_ptr<NetServiceBoard> netservices = nullptr;
};

// The host with this MAC; an unknown MAC is recorded as discovered ("discovered-<hex>"), with
// why as the event's reason, within the bounds of ctx.discovery (refused: nothing made).
Discovery find_or_discover(ApiContext& ctx, const Mac& mac, const std::string& why);
// 429 {"error": {"code": "too_many_requests"}} for a refused discovery, naming the bound.
imaging::http::Response discovery_refused(const imaging::http::Request& req, const Status& why);
// 400 (malformed), 403 ("forbidden": outside the import directories) or 404 for a refused
// import path.
imaging::http::Response import_refused(const imaging::http::Request& req,
                                       const ImportPath& checked);

// Every route of the table (api_routes.h), the BitTorrent tracker, and the API's error shape
// for the errors the HTTP layer answers by itself.
void mount_api(imaging::http::Router& router, ApiContext& ctx,
               std::shared_ptr<imaging::torrent::Tracker> tracker);

}  // namespace provisioner::server
