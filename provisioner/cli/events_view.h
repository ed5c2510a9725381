// Events in text: TIME HOST FROM->TO REASON, for `events` and the tail of `host show`.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "output/table.h"

namespace provisioner::cli {

// "booting -> imaging"; "-> enrolled" for a host's first state; "-" for an event that is not a
// transition.
std::string transition(const nlohmann::json& event);

// The host an event is about: its name when the event carries one, else its MAC, else its id.
std::string event_host(const nlohmann::json& event);

// A table with columns TIME [HOST] FROM->TO REASON; with min_widths the columns keep their
// places from one batch of rows to the next (events --follow).
Table make_events_table(bool with_host, bool min_widths = false);
void add_event_row(Table& table, const nlohmann::json& event, bool with_host);

}  // namespace provisioner::cli
