// Prometheus' text exposition format (version 0.0.4) as provisionerd's own series write it
// (server_metrics.cc, metrics_inventory.cc, process_metrics.cc): a family's HELP and TYPE
// lines, then its samples, label values escaped, numbers as the format spells them.
// TODO(F): one writer for all of GET /metrics; metrics_text.cc's private one (being moved to
// metrics_format.h) and this one are the same code and are to become one.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace provisioner::server::exposition {

using Labels = std::vector<std::pair<const char*, std::string>>;

// A label value as the format escapes it: backslash, double quote and newline.
std::string escaped(const std::string& value);
// A sample value: shortest round-trip text, NaN, +Inf, -Inf.
std::string number(double v);
std::string number(std::uint64_t v);

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
