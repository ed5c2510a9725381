// provisionerd: the provisioning server. See provisioner/API.md and `provisionerd --help`.
#include <algorithm>
#include <utility>

#include <csignal>
#include <ctime>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>

#include "api.h"
#include "config.h"
#include "dhcp_service.h"
#include "fd_budget.h"
#include "imaging/http/client.h"
#include "imaging/http/server.h"
#include "imaging/torrent/tracker_server.h"
#include "orchestrator.h"
#include "site_apply_lease.h"
#include "image_peers.h"
#include "server_presence.h"
#include "rack_dhcp.h"
#include "rack_image_cache.h"
#include "rack_images.h"
#include "hot_template_packs.h"
#include "rack_templates.h"
#include "provisioner/pg_store.h"
#include "provisioner/recovery.h"
#include "provisioner/site.h"
#include "state.h"
#include "netboot_initrd.h"
#include "tls_files.h"

namespace fs = std::filesystem;
using namespace provisioner;
using namespace provisioner::server;

namespace {

constexpr const char* kVersion = "0.5.0";

void log_line(const std::string& line) {
    static std::mutex mu;
    std::time_t now = std::time(nullptr);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", std::localtime(&now));
    std::lock_guard lock(mu);
    std::cerr << stamp << " provisionerd: " << line << std::endl;
}

int fail(const std::string& message) {
    std::cerr << "provisionerd: error: " << message << std::endl;
    return 1;
}

// database: a postgresql:// URL, a SQLite file, or empty for STATE/inventory.db.
Result<std::unique_ptr<Store>> open_store(const StateFiles& files, const std::string& database) {
    std::error_code ec;
    fs::create_directories(files.root, ec);
    if (is_postgres_url(database)) return open_postgres_store(database);
    const fs::path path = database.empty() ? files.inventory() : fs::path(database);
    auto store = open_sqlite_store(path);
    if (!store) return store.status().context("opening " + path.string());
    return store;
}

// The paths firmware and libtorrent fetch, served over plain HTTP beside HTTPS: iPXE scripts,
// the netboot kernel and initramfs, torrents and the tracker. Nothing in them is secret beyond
// a host's single-use boot ticket (README, "TLS").
const std::vector<std::string> kPlainHttpPrefixes = {"/boot/", "/netboot/", "/torrents/",
                                                     "/announce"};

std::string url_host(const std::string& url) {
    auto parsed = imaging::http::parse_http_url(url);
    return parsed ? parsed->host : "";
}

int run_init(const StateFiles& files, const std::string& database) {
    auto store = open_store(files, database);
    if (!store) return fail(store.status().message());
    auto report = initialise_state(files, **store);
    if (!report) return fail(report.status().message());
    const TlsFiles tls_files = TlsFiles::in(files.root);
    auto tls = ensure_tls_certificates(tls_files, local_certificate_names());
    if (!tls) return fail(tls.status().message());
    std::string names;
    for (const auto& n : tls->names) names += (names.empty() ? "" : ", ") + n;
    std::cout << "state directory: " << files.root.string() << "\n"
              << "image signing key: " << files.signing_key().string()
              << (report->created_key          ? " (new)"
                  : report->repaired_public_key ? " (kept; site.pub derived from it again)"
                                                : " (kept)")
              << "\n"
              << "  sign images with: imaging pack RAW DIR --key " << files.signing_key().string()
              << " --name NAME --version V\n"
              << "operator token: "
              << (report->created_token ? files.operator_token().string() + " (new, mode 0600)"
                                        : std::string("kept (make another: provisionerd token "
                                                      "create NAME)"))
              << "\n"
              << "TLS CA: " << tls_files.ca_cert.string() << (tls->created_ca ? " (new)" : " (kept)")
              << "; the CLI and agents verify the server with it (provisioner --ca)\n"
              << "TLS certificate: " << tls_files.server_cert.string()
              << (tls->issued_server ? " (new)" : " (kept)") << " for " << names << "\n";
    return 0;
}

int run_token_create(const StateFiles& files, const std::string& database,
                     const std::string& name) {
    auto store = open_store(files, database);
    if (!store) return fail(store.status().message());
    auto token = create_operator_token(**store, name);
    if (!token) return fail(token.status().message());
    std::cout << *token << "\n";
    return 0;
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int run_server(ServerConfig config) {
    std::error_code ec;
    fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (std::string problem = finish_config(config, self); !problem.empty()) return fail(problem);
    StateFiles files{fs::absolute(config.state_dir)};
    config.state_dir = files.root;
    auto store_result = open_store(files, config.database);
    if (!store_result) return fail(store_result.status().message());
    Store& store = **store_result;
    auto init = initialise_state(files, store);
    if (!init) return fail(init.status().message());
    if (init->repaired_public_key)
        log_line(files.public_key().string() + " was missing or did not match " +
                 files.signing_key().string() + "; derived it again from the private key");
    if (init->created_token)
        log_line("initialised " + files.root.string() + "; operator token in " +
                 files.operator_token().string());
    // A running deployment in a shared database may be another live server's: recover only
    // when this server is alone on it (a dead server's sessions are gone with its sockets).
    auto shared = another_server_connected(store);
    if (!shared) return fail(shared.status().message());
    RecoveryReport none;
    auto recovered = *shared ? Result<RecoveryReport>(none) : recover_interrupted(store);
    if (*shared)
        log_line("another provisionerd shares the database: running deployments are left to "
                 "their servers (no recovery at start)");
    if (!recovered) return fail(recovered.status().message());
    if (!recovered->hosts_failed.empty() || !recovered->deployments_interrupted.empty())
        log_line("recovered from an unclean stop: " +
                 std::to_string(recovered->deployments_interrupted.size()) +
                 " deployment(s) interrupted, " + std::to_string(recovered->hosts_failed.size()) +
                 " host(s) marked failed (deployable again)");
    std::optional<imaging::http::TlsOptions> tls;
    if (config.tls) {
        std::string cert = config.tls_cert, key_file = config.tls_key;
        if (cert.empty()) {
            std::vector<std::string> names = local_certificate_names();
            names.push_back(url_host(config.public_url));
            if (!config.dhcp_address.empty()) names.push_back(config.dhcp_address);
            names.insert(names.end(), config.tls_names.begin(), config.tls_names.end());
            const TlsFiles tls_files = TlsFiles::in(files.root);
            auto made = ensure_tls_certificates(tls_files, names);
            if (!made) return fail("TLS: " + made.status().message());
            if (made->issued_server)
                log_line("issued " + tls_files.server_cert.string() + ", signed by " +
                         tls_files.ca_cert.string());
            cert = tls_files.server_cert.string();
            key_file = tls_files.server_key.string();
        }
        auto context = imaging::http::make_server_tls_context(cert, key_file);
        if (!context) return fail(context.status().message());
        tls = imaging::http::TlsOptions{*context, kPlainHttpPrefixes};
        // Netboot agents verify this server by the CA the initramfs carries: append ours.
        const fs::path initrd = config.netboot_dir / "initrd.img";
        if (config.tls_cert.empty() && !config.netboot_dir.empty() && fs::exists(initrd)) {
            std::vector<InitrdFile> trusted{
                {"etc/provisioner/ca.crt", read_file(TlsFiles::in(files.root).ca_cert), 0644},
                {"etc/provisioner/site.pub", read_file(files.public_key()), 0644}};
            config.netboot_initrd = files.root / "netboot-initrd.img";
            if (Status s = compose_initrd(initrd, trusted, config.netboot_initrd); !s)
                return fail("the netboot initramfs: " + s.message());
        }
    }
    auto key = imaging::VerifyKey::load(files.public_key());
    if (!key) return fail(key.status().message());
    if (!fs::exists(config.imaging_binary))
        return fail("no imaging program at " + config.imaging_binary.string() + " (--imaging)");

    // SIGTERM/SIGINT end the server: blocked in every thread, taken by the main thread.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    auto launcher = pxe::make_posix_launcher();
    base::Clock& clock = base::real_clock();
    Orchestrator orchestrator(store, config, *launcher, read_file(files.public_key()), log_line,
                              clock);
    // Each deployment made here is this server's under a lease; a dead server's are taken over
    // once theirs expire (lease_keeper.h). With one server alone the leases cost a row each.
    auto leases = std::make_shared<LeaseKeeper>(
        store, clock, make_server_id(config.server_id), config.lease_time);
    orchestrator.set_leases(leases);
    // Its presence, taken before it publishes anything, and the sweep of what servers gone
    // long ago left in the store (server_presence.h).
    ServerPresence presence(*leases, store, clock, ServerPresence::stale_after(config.lease_time),
                            log_line);
    if (Status s = presence.announce(); !s)
        log_line("taking this server's presence: " + s.message());  // again in a minute
    auto hot_lease = std::make_shared<HotTemplateLease>(*leases, store, clock,
                                                        read_file(files.signing_key()), log_line);
    orchestrator.set_hot_template_lease(hot_lease);
    std::unique_ptr<DhcpService> dhcp;
    NoDhcp no_dhcp;
    // dnsmasq changes user, which clears its parent-death signal: under a guard that keeps it,
    // a provisionerd killed -9 leaves no dnsmasq answering for it (a rack's standby takes over).
    auto dhcp_launcher = pxe::make_guarded_launcher();
    if (!config.dhcp_interface.empty()) {
        auto prepared = DhcpService::prepare(config, store, *dhcp_launcher, clock, log_line);
        if (!prepared) return fail(prepared.status().message());
        dhcp = std::move(*prepared);
    }
    // A rack server answers its racks' DHCP and boot scripts under leases (rack_dhcp.h).
    std::unique_ptr<RackDhcp> racks;
    if (!config.rack.empty())
        racks = std::make_unique<RackDhcp>(store, *leases, clock, config.rack, config.dhcp_standby);
    // Every server publishes where peers fetch its images (image_peers.h); a rack server keeps
    // copies of its racks' images, fetched by delta (rack_images.h), and serves them itself.
    ImagePeers image_peers(store, leases->owner(), read_file(files.signing_key()), log_line);
    std::unique_ptr<RackImageCache> image_cache;
    std::unique_ptr<RackImages> rack_images;
    std::unique_ptr<RackImageCache> template_cache;
    std::unique_ptr<RackTemplates> rack_templates;
    if (racks) {
        auto opened = RackImageCache::open(
            {files.root / "image-cache", config.image_cache_bytes, files.public_key()}, clock);
        if (!opened) return fail(opened.status().message());
        image_cache = std::move(*opened);
        // The copies' chunks are read back off the start; one that does not match is removed
        // and fetched again, with an event for the operator.
        image_cache->start_checking([&store](const std::string& line, bool dropped) {
            log_line(line);
            if (!dropped) return;
            if (auto logged = store.log_event(server_event(line)); !logged)
                log_line("recording it: " + logged.status().message());
        });
        orchestrator.set_image_copy(
            [cache = image_cache.get()](const Image& image) { return cache->path_of(image); });
        rack_images = std::make_unique<RackImages>(
            store, *image_cache, image_peers, leases->owner(),
            [&racks] { return racks->served(); },
            [&orchestrator](const std::vector<Image>& images,
                            const std::vector<Orchestrator::RackMulticast>& multicast,
                            const std::vector<Orchestrator::RackTorrent>& torrents) {
                orchestrator.set_rack_images(images);
                orchestrator.set_rack_multicast(multicast);
                orchestrator.set_rack_torrents(torrents);
            },
            clock, log_line);
        // The hot templates its racks' Dom0 hosts pre-copy, kept and served alike
        // (rack_templates.h), in a cache of their own under the same bound.
        auto templates_opened = RackImageCache::open(
            {files.root / "template-cache", config.image_cache_bytes, files.public_key(),
             std::chrono::seconds(30), "rack template cache"},
            clock);
        if (!templates_opened) return fail(templates_opened.status().message());
        template_cache = std::move(*templates_opened);
        template_cache->start_checking([&store](const std::string& line, bool dropped) {
            log_line(line);
            if (!dropped) return;
            if (auto logged = store.log_event(server_event(line)); !logged)
                log_line("recording it: " + logged.status().message());
        });
    }
    // The hot-template holder fetches the packs of hot templates imported elsewhere; any other
    // server offers the holder its own packs of those the holder does not serve, through delta
    // servers published as its rack copies are (hot_template_packs.h).
    HotTemplatePacks hot_packs(
        store, *hot_lease, template_cache.get(),
        {files.root / "templates", leases->owner(), read_file(files.signing_key()),
         config.template_cool_down,
         {files.root / "template-cache", config.image_cache_bytes, files.public_key(),
          std::chrono::seconds(30), "template cache"}},
        clock, log_line);
    if (template_cache) {
        rack_templates = std::make_unique<RackTemplates>(
            store, *template_cache, [&racks] { return racks->served(); },
            [&hot_lease](TemplateId id) { return hot_lease->held_elsewhere(id); },
            [&orchestrator, &hot_packs](const std::vector<Orchestrator::RackTemplate>& copies,
                                        const std::set<std::string>& served) {
                auto served_copies = copies;
                for (auto& offer : hot_packs.offers())
                    if (std::none_of(copies.begin(), copies.end(),
                                     [&](const auto& c) { return c.t.id == offer.t.id; }))
                        served_copies.push_back(std::move(offer));
                orchestrator.set_rack_templates(served_copies, served);
            },
            config.template_cool_down, clock, log_line);
    }
    Authenticator auth(store, init->host_secret);
    // The VM actions, the agents' reports, the services and the disks of cold moves are in the
    // store: a restart carries on where the last server stopped, however it stopped.
    VmRegistry vms(store);
    if (Status s = vms.load(); !s) return fail("reading the VM registry back: " + s.message());
    auto disks = std::make_shared<DiskTransfers>(store, files.root / "moves");
    if (Status s = disks->load(); !s) return fail(s.message());
    for (const std::string& transfer : disks->ids())  // its move ended while the server was down
        if (!vms.transfer_hosts(transfer)) disks->remove(transfer);
    ServiceBoard services(store);
    auto stored_services = services.load();
    if (!stored_services)
        return fail("reading the services back: " + stored_services.status().message());
    if (!*stored_services && fs::exists(files.root / "site.xml")) {
        // The last applied site's services; a file that no longer reads only loses them.
        auto applied = site::load_site_file((files.root / "site.xml").string());
        if (!applied)
            log_line("warning: the last applied site (" + (files.root / "site.xml").string() +
                     ") does not read; its VMs' services are unknown until the next apply: " +
                     applied.status().message());
        else if (auto set = services.set_site(*applied); !set)
            return fail(set.status().message());
    }
    DiscoveryGate discovery(DiscoveryLimits::from(config));
    HostObserver& host_observer = dhcp ? static_cast<HostObserver&>(*dhcp) : no_dhcp;
    ApiContext ctx{store,  auth, orchestrator, vms,      services, host_observer,
                   config, *key, kVersion,     discovery};
    if (dhcp) ctx.dhcp_problem = [&dhcp] { return dhcp->problem(); };
    ctx.site_apply = std::make_shared<SiteApplyLease>(*leases, vms, store, clock, log_line);
    if (racks)
        ctx.serves_rack = [&racks](const std::string& rack) { return racks->served().contains(rack); };
    ctx.jobs = std::make_shared<Jobs>(JobLimits{std::size_t(config.job_threads),
                                                std::size_t(config.job_queue)});
    ctx.disks = disks;
    ctx.monitor =
        std::make_shared<HostMonitor>(store, clock, config.heartbeat_interval);
    for (const HostReport& r : vms.reports()) ctx.monitor->watch(r.host);
    // One kept connection per reporting host and the history's open files share RLIMIT_NOFILE.
    auto fds = split_fd_budget(raise_open_file_limit(), std::size_t(config.max_connections));
    if (!fds) return fail(fds.status().message());
    HistoryOptions history;
    history.dir = files.root / "history";
    history.archives = *parse_archives(config.history_archives);  // checked by the option
    history.log = log_line;
    history.max_open_files = fds->history_files;
    ctx.history = std::make_shared<MetricsHistory>(std::move(history), clock);
    // Its racks follow the store while it runs (exchange_rack_torrents()).
    auto tracker = std::make_shared<imaging::torrent::Tracker>();
    imaging::http::Router router;
    orchestrator.set_tracker(tracker);
    mount_api(router, ctx, tracker);
    if (dhcp)
        ctx.server_metrics->set_dnsmasq_source([&dhcp] {
            return DnsmasqState{dhcp->running(), std::uint64_t(std::max(0, dhcp->restarts())),
                                dhcp->active_leases(std::time(nullptr))};
        });

    auto endpoint = imaging::torrent::parse_endpoint(config.listen);
    if (!endpoint) return fail("--listen: " + endpoint.status().message());
    boost::asio::io_context ioc;
    imaging::http::Limits limits;
    limits.max_body_bytes = 16 << 20;
    // On PostgreSQL a handler mostly waits for the database's round trips (a page of hosts is
    // several), so two per core: on 2 cores, while another server enrolled, 2 workers served
    // 157 pages/s, 4 6,275 and 8 3,016 (tests/bench/scale, "pg x2"; on one server, 4 against 2
    // served pages under enrolments 1,829/s against 1,384 and enrolments alone 2,507/s
    // against 3,252). On SQLite the work is this process's own CPU, and extra workers only add
    // switches.
    const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
    limits.worker_threads = config.http_workers > 0         ? std::size_t(config.http_workers)
                            : is_postgres_url(config.database) ? std::max<std::size_t>(4, 2 * cores)
                                                               : std::max<std::size_t>(2, cores);
    limits.max_queued_requests = std::size_t(config.http_queue);
    limits.max_connections = fds->connections;
    // Agents keep their connection between reports: it outlives three report intervals.
    limits.idle_timeout = std::max<std::chrono::milliseconds>(std::chrono::seconds(60),
                                                             3 * config.heartbeat_interval);
    boost::system::error_code bind_error;
    auto http = tls ? imaging::http::Server::start(ioc, *endpoint, std::move(router), limits,
                                                    std::move(*tls), bind_error)
                    : imaging::http::Server::start(ioc, *endpoint, std::move(router), limits,
                                                   bind_error);
    if (bind_error) return fail("cannot listen on " + config.listen + ": " + bind_error.message());
    presence.serving();  // a failed start before here gave its presence up (server_presence.h)
    ctx.server_metrics->set_http_source([server = http.get()] {
        return HttpPoolState{server->worker_threads(), server->queued_requests(),
                             server->max_queued_requests(), server->rejected_requests(),
                             server->open_connections()};
    });

    // The process thread forks every child (dnsmasq, imaging senders) and lives as long as the
    // server: children get a parent-death signal tied to the thread that forked them.
    std::atomic<bool> stopping{false};
    std::string dhcp_error;
    std::thread processes([&] {
        if (dhcp)
            if (Status s = dhcp->start(); !s) {
                dhcp_error = s.message();
                stopping = true;
                kill(getpid(), SIGTERM);
                return;
            }
        auto next_expiry = clock.now();
        auto next_rack_tick = clock.now();
        while (!stopping) {
            if (racks && clock.now() >= next_rack_tick) {
                next_rack_tick = clock.now() + std::chrono::seconds(1);
                follow_racks(*racks, *dhcp, store, leases->owner(), log_line);
            }
            if (dhcp) dhcp->tick();
            orchestrator.tick();  // renews this server's leases, the site apply's too
            ctx.site_apply->tick();
            ctx.server_metrics->tick_done(clock.now());
            ctx.monitor->check();
            if (clock.now() >= next_expiry) {
                next_expiry += std::chrono::minutes(1);
                if (auto expired = discovery.expire(store, host_observer); !expired)
                    log_line("expiring discovered hosts: " + expired.status().message());
            }
            clock.sleep_for(std::chrono::milliseconds(200));
        }
        orchestrator.stop_all();
        hot_lease->release();  // another server starts the template servers at once
        if (dhcp) dhcp->stop();
        if (racks) racks->release_all();  // a standby takes the racks over at once
    });
    // Publishing and fetching images waits on peers for seconds: a thread of its own.
    std::thread images([&] {
        std::string rack_sources, tracker_racks;
        while (!stopping) {
            image_peers.publish(orchestrator.image_sources());
            presence.sweep_if_due();
            if (rack_images) rack_images->tick();
            hot_packs.tick();
            if (rack_templates)
                rack_templates->tick();
            else
                orchestrator.set_rack_templates(hot_packs.offers(), {});
            exchange_rack_work(store, image_peers, orchestrator, leases->owner(),
                               leases->lease_time(), rack_sources, log_line);
            exchange_rack_torrents(store, image_peers, orchestrator, leases->owner(),
                                   leases->lease_time(), tracker_racks, log_line);
            for (int i = 0; i < 5 && !stopping; ++i) clock.sleep_for(std::chrono::milliseconds(200));
        }
    });
    std::vector<std::thread> io_threads;
    for (int i = 0; i < config.http_threads; ++i) io_threads.emplace_back([&ioc] { ioc.run(); });
    log_line("provisionerd " + std::string(kVersion) + " serving " + config.public_url +
             " (API /api/v1" +
             (config.tls ? ", HTTPS only; " + config.boot_url + " for /boot/ and /netboot/"
                         : std::string(", TLS off")) +
             ", state " + files.root.string() + ", server id " + leases->owner() + ", DHCP " +
             (dhcp ? "on " + config.dhcp_interface : std::string("off")) + ")");

    int sig = 0;
    sigwait(&stop_signals, &sig);
    log_line(std::string("stopping (") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ")");
    stopping = true;
    processes.join();
    images.join();
    image_peers.publish({});  // its delta servers are gone: no peer is sent to them
    image_peers.publish_multicast({});  // nor its rack multicast senders
    image_peers.publish_templates({});  // nor its racks' Dom0 hosts to its template servers
    if (Status s = presence.withdraw(); !s) log_line("stopping: " + s.message());
    http->stop();  // and its workers: no handler runs past here
    if (!http->wait_closed(std::chrono::seconds(3)))
        log_line("stopping: some connections did not close within 3 s");
    ctx.jobs->stop();
    ioc.stop();
    for (auto& t : io_threads) t.join();
    if (!dhcp_error.empty()) {
        (void)presence.leave();  // a failed start: nothing of it stays
        return fail(dhcp_error);
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"provisionerd: the provisioning server. Serves the HTTP API (/api/v1), iPXE "
                 "scripts, netboot files and the BitTorrent tracker; runs dnsmasq for "
                 "DHCP/TFTP/PXE when --dhcp-interface is given; drives deployments with the "
                 "imaging tool. The first start initialises --state-dir (see `init`)."};
    ServerConfig config;
    add_config_options(app, config);
    std::string state_dir;
    auto* init = app.add_subcommand("init", "make the state directory: signing key, first "
                                            "operator token (STATE/operator.token), TLS CA "
                                            "and certificate (STATE/ca.crt, server.crt); "
                                            "idempotent");
    init->add_option("--state-dir", state_dir, "state directory (default /var/lib/provisioner)");
    init->add_option("--database", config.database, "as the server's --database");
    auto* token = app.add_subcommand("token", "operator tokens");
    auto* token_create = token->add_subcommand("create", "make a named operator token, print it");
    std::string token_name;
    token_create->add_option("NAME", token_name, "what the token is for")->required();
    token_create->add_option("--state-dir", state_dir, "state directory");
    token_create->add_option("--database", config.database, "as the server's --database");
    token->require_subcommand(1);
    CLI11_PARSE(app, argc, argv);

    StateFiles files{fs::absolute(state_dir.empty() ? config.state_dir : fs::path(state_dir))};
    if (*init) return run_init(files, config.database);
    if (*token_create) return run_token_create(files, config.database, token_name);
    return run_server(std::move(config));
}
