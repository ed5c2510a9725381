// PgStore::add_hosts: an import of many hosts in batches. Each statement costs a round trip to
// the server; add_host() pays two per host (the host, its event), so 100,000 hosts took 15 s
// on a local socket where SQLite took under 2 s. Here a batch of hosts is one INSERT from
// arrays (unnest) and their events one more.
#include <algorithm>
#include <map>
#include <string>

#include "pg_store.h"

namespace provisioner {

using pg::Params;

namespace {

constexpr std::size_t kBatch = 1000;

// A PostgreSQL array literal of texts: {"a","b\"c"}; every element quoted, " and \ escaped.
class TextArray {
  public:
    void add(std::string_view text) {
        out_ += out_.empty() ? "{\"" : ",\"";
        for (char c : text) {
            if (c == '"' || c == '\\') out_ += '\\';
            out_ += c;
        }
        out_ += '"';
    }
    std::string str() const { return out_.empty() ? "{}" : out_ + "}"; }

  private:
    std::string out_;
};

}  // namespace

Result<std::vector<Host>> PgStore::add_hosts(const std::vector<HostSpec>& specs, HostState initial,
                                             const std::string& reason) {
    if (initial != HostState::discovered && initial != HostState::enrolled)
        return Status::error(
            Code::invalid_argument,
            std::string("a new host starts discovered or enrolled, not ") + to_string(initial));
    for (const HostSpec& spec : specs)
        if (Status s = validate_host_fields(spec.name, spec.ip, spec.rack); !s) return s;
    std::lock_guard lock(mu_);
    std::vector<Host> added;
    added.reserve(specs.size());
    Status s = db_->transaction([&]() -> Status {
        for (std::size_t first = 0; first < specs.size(); first += kBatch) {
            const std::size_t end = std::min(specs.size(), first + kBatch);
            TextArray macs, names, ips, racks;
            for (std::size_t i = first; i < end; ++i) {
                macs.add(specs[i].mac.str());
                names.add(specs[i].name);
                ips.add(specs[i].ip);
                racks.add(specs[i].rack);
            }
            const Timestamp t = now();
            auto rows = db_->write(
                "INSERT INTO hosts (mac, name, ip, rack, state, created_at, updated_at)"
                " SELECT m, n, i, r, $5, $6, $6"
                " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(m, n, i, r)"
                " RETURNING id, mac",
                Params()
                    .add(macs.str())
                    .add(names.str())
                    .add(ips.str())
                    .add(racks.str())
                    .add(to_string(initial))
                    .add(t));
            if (!rows) {
                if (rows.status().code() != Code::conflict) return rows.status();
                // A MAC or name taken (the batch's write was rolled back): add_host says which.
                for (std::size_t i = first; i < end; ++i) {
                    auto host = add_host(specs[i], initial, reason);
                    if (!host) return host.status();
                    added.push_back(std::move(*host));
                }
                continue;
            }
            std::map<std::string, HostId> ids;  // RETURNING's order is not promised
            for (int r = 0; r < rows->size(); ++r) ids.emplace(rows->text(r, 1), rows->i64(r, 0));
            std::string event_hosts = "{";
            TextArray event_macs;
            for (std::size_t i = first; i < end; ++i) {
                Host h;
                h.mac = specs[i].mac;
                h.id = ids.at(h.mac.str());
                h.name = specs[i].name;
                h.ip = specs[i].ip;
                h.rack = specs[i].rack;
                h.state = initial;
                h.created_at = h.updated_at = t;
                event_hosts += (i == first ? "" : ",") + std::to_string(h.id);
                event_macs.add(h.mac.str());
                added.push_back(std::move(h));
            }
            event_hosts += "}";
            // In specs' order, so that the events' ids follow the hosts' as add_host's do.
            auto events = db_->write(
                "INSERT INTO events (time, host_id, mac, from_state, to_state, reason)"
                " SELECT $1, h, m, NULL, $4, $5"
                " FROM unnest($2::bigint[], $3::text[]) WITH ORDINALITY AS u(h, m, k) ORDER BY k",
                Params()
                    .add(t)
                    .add(event_hosts)
                    .add(event_macs.str())
                    .add(to_string(initial))
                    .add(reason));
            if (!events) return events.status();
        }
        return Status::ok();
    });
    if (!s) return s;
    return added;
}

}  // namespace provisioner
