// events [--host H] [--after ID] [--limit N] [--follow]
#include <memory>

#include "commands.h"
#include "events_view.h"
#include "imaging/http/query.h"
#include "output/format.h"

namespace provisioner::cli {
namespace {

struct EventsOptions {
    std::string host;
    std::uint64_t after = 0;
    int limit = 0;
    bool follow = false;
};

std::string events_path(const EventsOptions& o, std::uint64_t after) {
    std::string query;
    auto add = [&](const std::string& key, const std::string& value) {
        query += (query.empty() ? "?" : "&") + key + "=" + imaging::http::percent_encode(value);
    };
    if (after > 0) add("after", std::to_string(after));
    if (!o.host.empty()) add("host", o.host);
    if (o.limit > 0) add("limit", std::to_string(o.limit));
    return "/api/v1/events" + query;
}

int list_events(Session& s, const EventsOptions& o) {
    auto r = s.api().get(events_path(o, o.after));
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    const auto& events = field(r.json(), "events");
    if (events.empty()) {
        s.err() << "no events\n";
        return kExitOk;
    }
    Table table = make_events_table(true);
    for (const auto& event : events) add_event_row(table, event, true);
    s.out() << table.render();
    return kExitOk;
}

// Prints every event after o.after as it comes, until interrupted (or the server stays away).
// With --json, one compact JSON event per line.
int follow_events(Session& s, const EventsOptions& o) {
    std::uint64_t after = o.after;
    bool header_printed = false;
    bool answered = false;
    int transport_failures = 0;
    for (;;) {
        auto r = s.api().get(events_path(o, after));
        if (!r) {
            bool transient = r.error().kind == ApiError::Kind::transport && answered;
            if (!transient || ++transport_failures > kTransportRetries) return s.fail(r.error());
            s.env().clock->sleep_for(kFollowInterval);
            continue;
        }
        transport_failures = 0;
        answered = true;
        const auto& events = field(r.json(), "events");
        Table table = make_events_table(true, true);
        for (const auto& event : events) {
            after = std::max(after, count(field(event, "id")));
            if (s.json()) {
                s.out() << event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                        << "\n";
            } else {
                add_event_row(table, event, true);
            }
        }
        if (!table.empty()) {
            s.out() << table.render(!header_printed);
            header_printed = true;
        }
        s.out() << std::flush;
        // A full page means more are waiting: ask again at once.
        bool full_page = o.limit > 0 && events.size() >= static_cast<std::size_t>(o.limit);
        if (!full_page) s.env().clock->sleep_for(kFollowInterval);
    }
}

}  // namespace

void add_events_command(CLI::App& app, Action& chosen) {
    auto o = std::make_shared<EventsOptions>();
    auto* cmd = app.add_subcommand(
        "events",
        "Show the inventory's events (state changes and their reasons), oldest first; "
        "times in UTC");
    cmd->add_option("--host", o->host, "only this host's events: its id, MAC or name");
    cmd->add_option("--after", o->after, "only events after this event id");
    cmd->add_option("--limit", o->limit, "at most this many events (default: the server's)")
        ->check(CLI::PositiveNumber);
    cmd->add_flag("--follow,-f", o->follow,
                  "keep printing new events as they happen (with --json: one JSON event per "
                  "line), until interrupted");
    on_run(cmd, chosen,
           [o](Session& s) { return o->follow ? follow_events(s, *o) : list_events(s, *o); });
}

}  // namespace provisioner::cli
