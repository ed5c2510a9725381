#include "events_view.h"

#include "output/format.h"

namespace provisioner::cli {
namespace {

constexpr std::size_t kTimeWidth = 19;        // "2024-05-01 12:00:03"
constexpr std::size_t kHostWidth = 17;        // a MAC
constexpr std::size_t kTransitionWidth = 24;  // "discovered -> discovered"

}  // namespace

std::string transition(const nlohmann::json& event) {
    const auto& from = field(event, "from");
    const auto& to = field(event, "to");
    if (from.is_null() && to.is_null()) return "-";
    if (from.is_null()) return "-> " + text(to);  // a host's first state
    return text(from) + " -> " + text(to);
}

std::string event_host(const nlohmann::json& event) {
    if (field(event, "name").is_string()) return text(field(event, "name"));
    if (field(event, "mac").is_string()) return text(field(event, "mac"));
    return text(field(event, "host"));
}

Table make_events_table(bool with_host, bool min_widths) {
    Table table = with_host ? Table({"TIME", "HOST", "FROM->TO", "REASON"})
                            : Table({"TIME", "FROM->TO", "REASON"});
    if (min_widths) {
        std::size_t c = 0;
        table.set_min_width(c++, kTimeWidth);
        if (with_host) table.set_min_width(c++, kHostWidth);
        table.set_min_width(c, kTransitionWidth);
    }
    return table;
}

void add_event_row(Table& table, const nlohmann::json& event, bool with_host) {
    if (with_host) {
        table.add_row({format_time(field(event, "time")), event_host(event), transition(event),
                       text(field(event, "reason"))});
    } else {
        table.add_row(
            {format_time(field(event, "time")), transition(event), text(field(event, "reason"))});
    }
}

}  // namespace provisioner::cli
