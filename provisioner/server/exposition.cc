#include "exposition.h"

#include <charconv>
#include <cmath>

namespace provisioner::server::exposition {

std::string escaped(const std::string& value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string number(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc() ? std::string(buf, end) : "NaN";
}

std::string number(std::uint64_t v) {
    return std::to_string(v);
}

Family::Family(std::string& out, const char* name, const char* type, const char* help)
    : out_(out), name_(name) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
}

void Family::sample(const Labels& labels, const std::string& value) {
    out_ += name_;
    if (!labels.empty()) {
        out_ += '{';
        for (std::size_t i = 0; i < labels.size(); ++i) {
            if (i) out_ += ',';
            out_ += labels[i].first;
            out_ += "=\"";
            out_ += escaped(labels[i].second);
            out_ += '"';
        }
        out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
}

}  // namespace provisioner::server::exposition
