#include "provisioner/agent/netservices.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "base/atomic_file.h"
#include "base/json.h"
#include "base/process.h"
#include "netservices_parts.h"
#include "provisioner/wire/dom0.h"

namespace provisioner::agent {

namespace fs = std::filesystem;
using Kind = wire::NetService::Kind;

namespace netsvc {

std::string short_hash(const std::string& vm) {
    std::uint32_t h = 2166136261u;
    for (unsigned char c : vm) h = (h ^ c) * 16777619u;
    char text[9];
    std::snprintf(text, sizeof text, "%08x", h);
    return text;
}

std::string table_name(const std::string& vm) {
    return kTablePrefix + short_hash(vm);
}
std::string ifb_name(const std::string& vm) {
    return kIfbPrefix + short_hash(vm);
}

bool valid_interface(const std::string& name) {
    if (name.empty() || name.size() > 15) return false;
    for (char c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-' &&
            c != '@' && c != ':')
            return false;
    return true;
}

}  // namespace netsvc

namespace {

class RealNetCommands : public NetCommands {
  public:
    Result<std::string> run(const std::vector<std::string>& argv) override {
        base::RunOptions options;
        options.timeout = std::chrono::seconds(10);
        auto ran = base::run_process(argv, options);
        if (!ran) return ran.status();
        if (ran->exit_code != 0) return base::exit_error(argv, *ran);
        return std::move(ran->out);
    }
    Status nft_script(const std::string& script) override {
        char path[] = "/tmp/provisioner-nft.XXXXXX";
        const int fd = ::mkstemp(path);
        if (fd < 0) return Status::error(Code::storage, "nft script: mkstemp failed");
        const bool written = ::write(fd, script.data(), script.size()) == ssize_t(script.size());
        ::close(fd);
        Status s =
            written ? Status::ok() : Status::error(Code::storage, "nft script: write failed");
        if (s) {
            auto r = run({"nft", "-f", path});
            if (!r) s = r.status();
        }
        ::unlink(path);
        return s;
    }
    bool link_exists(const std::string& name) override {
        std::error_code ec;
        return netsvc::valid_interface(name) && fs::exists(fs::path("/sys/class/net") / name, ec);
    }
    bool is_bridge_port(const std::string& name) override {
        std::error_code ec;
        return netsvc::valid_interface(name) &&
               fs::exists(fs::path("/sys/class/net") / name / "brport", ec);
    }
};

}  // namespace

std::unique_ptr<NetCommands> real_net_commands() {
    return std::make_unique<RealNetCommands>();
}

NetServices::NetServices(NetCommands& commands, NetServicesOptions options)
    : commands_(commands), options_(std::move(options)) {}

NetServices::~NetServices() = default;

Status NetServices::load() {
    std::error_code ec;
    if (options_.state_file.empty() || !fs::exists(options_.state_file, ec)) return Status::ok();
    std::ifstream in(options_.state_file);
    std::stringstream text;
    text << in.rdbuf();
    const std::string where = options_.state_file.string();
    if (!in) return Status::error(Code::storage, "reading " + where);
    auto parsed = base::parse_json(text.str(), base::JsonLimits{4 << 20, 16});
    if (!parsed) return Status::error(Code::storage, where + ": " + parsed.error);
    auto answer = wire::decode<wire::Dom0Answer>(parsed.value);
    if (!answer || !answer->netservices)
        return Status::error(
            Code::storage, where + ": " + (answer ? "no netservices" : answer.status().message()));
    desired_.clear();
    for (auto& vm : *answer->netservices) desired_[vm.vm] = std::move(vm.services);
    tunnel_key_ = answer->tunnel_key;
    if (compress_) compress_->set_key(tunnel_key_);
    return Status::ok();
}

Status NetServices::set_desired(std::vector<wire::VmNetServices> desired,
                                std::string tunnel_key) {
    std::map<std::string, std::vector<wire::NetService>> next;
    for (auto& vm : desired)
        if (!vm.services.empty()) next[vm.vm] = std::move(vm.services);
    if (next == desired_ && tunnel_key == tunnel_key_) return Status::ok();
    desired_ = std::move(next);
    if (tunnel_key != tunnel_key_ && compress_) compress_->set_key(tunnel_key);
    tunnel_key_ = std::move(tunnel_key);
    if (options_.state_file.empty()) return Status::ok();
    wire::Dom0Answer kept;  // the answer's own shape, so that load() reads it with its checks
    kept.netservices.emplace();
    for (const auto& [vm, services] : desired_) kept.netservices->push_back({vm, services});
    kept.tunnel_key = tunnel_key_;
    return base::write_private_file(options_.state_file, wire::encode(kept).dump(2) + "\n");
}

bool NetServices::install(const std::string& vm, const std::string& interface,
                          const wire::NetService& s) {
    Status done;
    switch (s.kind) {
        case Kind::filter:
            done = commands_.nft_script(
                netsvc::filter_script(vm, interface, commands_.is_bridge_port(interface), s));
            break;
        case Kind::rate_limit:
            done = netsvc::apply_shaping(commands_, vm, interface, s);
            break;
        case Kind::compress:
            done = Status::ok();  // the rules are the whole host's (sync_compression)
            break;
    }
    if (!done) options_.log(vm + ": " + wire::describe(s) + ": " + done.message());
    return done.is_ok();
}

void NetServices::uninstall(const std::string& vm, const std::string& interface, Kind kind) {
    switch (kind) {
        case Kind::filter:
            if (Status s = netsvc::remove_filter(commands_, vm); !s)
                options_.log(vm + ": removing its filter: " + s.message());
            break;
        case Kind::rate_limit:
            netsvc::remove_shaping(commands_, vm, interface);
            break;
        case Kind::compress:
            break;
    }
}

void NetServices::sync_compression() {
    std::set<netsvc::CompressRule> rules;
    std::vector<CompressPath::Route> routes;
    for (const auto& [vm, applied] : applied_) {
        auto it = applied.services.find(Kind::compress);
        if (it == applied.services.end()) continue;
        for (const std::string& cidr : it->second.to) {
            rules.insert({applied.interface, cidr});
            routes.push_back({cidr, it->second.peer});
        }
    }
    if (rules.empty()) {
        (void)netsvc::sync_routes(commands_, compress_ ? compress_->device() : "", {});
        compress_.reset();  // closes the tunnel; its device goes with it
        return;
    }
    if (!compress_) {
        auto opened = options_.compress_path
                          ? options_.compress_path()
                          : Result<std::unique_ptr<CompressPath>>(
                                Status::error(Code::invalid_argument, "no compression data path"));
        if (!opened) {
            options_.log("compression: " + opened.status().message());
            for (auto& [vm, applied] : applied_) applied.services.erase(Kind::compress);
            return;
        }
        compress_ = std::move(*opened);
        compress_->set_key(tunnel_key_);
    }
    compress_->set_routes(std::move(routes));
    if (Status s = netsvc::sync_routes(commands_, compress_->device(), rules); !s) {
        options_.log("compression routes: " + s.message());
        for (auto& [vm, applied] : applied_) applied.services.erase(Kind::compress);
    }
}

void NetServices::reconcile(const std::function<std::string(const std::string& vm)>& interface_of) {
    bool compression_changed = !swept_;
    // Our things for VMs no longer wanted, or whose interface went away or changed.
    for (auto it = applied_.begin(); it != applied_.end();) {
        auto want = desired_.find(it->first);
        const std::string interface = want == desired_.end() ? "" : interface_of(it->first);
        if (want != desired_.end() && interface == it->second.interface &&
            commands_.link_exists(interface)) {
            ++it;
            continue;
        }
        for (const auto& [kind, _] : it->second.services) {
            uninstall(it->first, it->second.interface, kind);
            compression_changed |= kind == Kind::compress;
        }
        it = applied_.erase(it);
    }
    for (const auto& [vm, services] : desired_) {
        const std::string interface = interface_of(vm);
        if (!netsvc::valid_interface(interface) || !commands_.link_exists(interface)) continue;
        Applied& applied = applied_[vm];
        applied.interface = interface;
        std::set<Kind> wanted;
        for (const wire::NetService& s : services) {
            wanted.insert(s.kind);
            auto have = applied.services.find(s.kind);
            if (have != applied.services.end() && have->second == s) continue;
            if (!install(vm, interface, s)) continue;
            applied.services[s.kind] = s;
            compression_changed |= s.kind == Kind::compress;
        }
        for (auto it = applied.services.begin(); it != applied.services.end();) {
            if (wanted.count(it->first)) {
                ++it;
                continue;
            }
            uninstall(vm, interface, it->first);
            compression_changed |= it->first == Kind::compress;
            it = applied.services.erase(it);
        }
    }
    if (compression_changed) sync_compression();
    if (!swept_) {
        sweep();
        swept_ = true;
    }
}

void NetServices::sweep() {
    std::set<std::string> tables;
    std::map<std::string, std::string> shaped;  // interface -> vm
    for (const auto& [vm, applied] : applied_) {
        if (applied.services.count(Kind::filter)) tables.insert(netsvc::table_name(vm));
        if (applied.services.count(Kind::rate_limit)) shaped[applied.interface] = vm;
    }
    if (auto owned = netsvc::owned_tables(commands_)) {
        for (const auto& [family, table] : *owned)
            if (!tables.count(table))
                (void)commands_.run({"nft", "delete", "table", family, table});
    } else {
        options_.log("listing nft tables: " + owned.status().message());
    }
    netsvc::sweep_shaping(commands_, shaped);
}

std::vector<wire::NetService> NetServices::active(const std::string& vm) const {
    std::vector<wire::NetService> out;
    auto it = applied_.find(vm);
    if (it == applied_.end()) return out;
    for (const auto& [kind, service] : it->second.services) out.push_back(service);
    return out;
}

void NetServices::clear() {
    desired_.clear();
    applied_.clear();
    swept_ = false;
    reconcile([](const std::string&) { return std::string(); });
}

}  // namespace provisioner::agent
