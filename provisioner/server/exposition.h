// Prometheus' text exposition format (version 0.0.4) as provisionerd's own series write it
// (server_metrics.cc, metrics_inventory.cc, process_metrics.cc): a family's HELP and TYPE
// lines, then its samples, label values escaped, numbers as the format spells them.
// TODO(F): one writer for all of GET /metrics; metrics_text.cc's private one (being moved to
// metrics_format.h) and this one are the same code and are to become one.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace provisioner::server::exposition {

using Labels = std::vector<std::pair<const char*, std::string>>;

// A label value as the format escapes it: backslash, double quote and newline.
std::string escaped(const std::string& value);
// A sample value: shortest round-trip text, NaN, +Inf, -Inf.
std::string number(double v);
std::string number(std::uint64_t v);

// Appends key="value" (value escaped) to out: the pieces of a label set that the scrape's
// writers build once per host or VM and reuse for every family.
void append_label(std::string& out, const char* key, std::string_view value);
// Appends a HELP and a TYPE line.
void append_header(std::string& out, const char* name, const char* type, const char* help);
// Appends `name{labels} value\n` (`name value\n` when labels is empty); labels as
// append_label writes them, comma-separated.
void append_sample(std::string& out, const char* name, std::string_view labels,
                   std::string_view value);

// One family of GET /metrics's per-host and per-VM part, written item by item (an item is a
// host or a VM), so the scrape can be sent in pieces as it is made (metrics_text.h).
struct FamilyPart {
    const char* name;
    const char* type;
    const char* help;
    bool header_always;  // else HELP and TYPE only before the family's first sample
    std::size_t items;
    // Appends item's samples (none, one or more) to out.
    std::function<void(std::string& out, std::size_t item)> samples;
};

// One metric family: its HELP and TYPE lines at construction, then each sample added. out
// must outlive it; name and help are string literals.
class Family {
  public:
    Family(std::string& out, const char* name, const char* type, const char* help);
    void sample(const Labels& labels, const std::string& value);

  private:
    std::string& out_;
    const char* name_;
};

}  // namespace provisioner::server::exposition
