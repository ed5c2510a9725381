#include "provisioner/vmhost/template_ref.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace provisioner::vmhost {

namespace {

bool all_of_chars(const std::string& s, const char* extra) {
    return std::all_of(s.begin(), s.end(), [&](unsigned char c) {
        return std::isalnum(c) || std::strchr(extra, c) != nullptr;
    });
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    for (;;) {
        std::size_t end = s.find(sep, start);
        parts.push_back(s.substr(start, end - start));
        if (end == std::string::npos) return parts;
        start = end + 1;
    }
}

bool has_all_labels(const TemplateInfo& t, const std::vector<std::string>& labels) {
    return std::all_of(labels.begin(), labels.end(), [&](const std::string& l) {
        return std::find(t.labels.begin(), t.labels.end(), l) != t.labels.end();
    });
}

// SO-MVDS's choice within a series: the most recently used, else the newest version, and
// between equal versions (two names under one label) the most recently added.
bool better(const TemplateInfo& a, const TemplateInfo& b) {
    if (a.last_used != b.last_used) return a.last_used > b.last_used;
    if (int c = compare_versions(a.version, b.version); c != 0) return c > 0;
    if (a.added != b.added) return a.added > b.added;
    return a.id() > b.id();
}

}  // namespace

bool valid_template_name(const std::string& s) {
    return !s.empty() && s.size() <= 128 && s[0] != '.' && s[0] != '-' && all_of_chars(s, "._-");
}

bool valid_label(const std::string& s) {
    return !s.empty() && s.size() <= 128 && all_of_chars(s, "._:/+-");
}

std::string TemplateRef::str() const {
    if (!labels.empty()) {
        std::string s = "label=";
        for (std::size_t i = 0; i < labels.size(); ++i) s += (i ? "," : "") + labels[i];
        return s;
    }
    return version.empty() ? name : name + "@" + version;
}

Result<TemplateRef> parse_template_ref(const std::string& text) {
    auto bad = [&](const std::string& why) {
        return Status::error(Code::invalid_argument,
                             "template reference '" + text + "': " + why +
                                 " (expected NAME, NAME@VERSION or label=LABEL[,LABEL...])");
    };
    TemplateRef ref;
    if (text.rfind("label=", 0) == 0) {
        for (auto& l : split(text.substr(6), ',')) {
            if (!valid_label(l)) return bad("bad label '" + l + "'");
            ref.labels.push_back(l);
        }
        return ref;
    }
    std::size_t at = text.find('@');
    ref.name = text.substr(0, at);
    if (!valid_template_name(ref.name)) return bad("bad name");
    if (at != std::string::npos) {
        ref.version = text.substr(at + 1);
        if (!valid_template_name(ref.version)) return bad("bad version");
    }
    return ref;
}

int compare_versions(const std::string& a, const std::string& b) {
    std::size_t i = 0, j = 0;
    while (i < a.size() && j < b.size()) {
        if (std::isdigit(static_cast<unsigned char>(a[i])) &&
            std::isdigit(static_cast<unsigned char>(b[j]))) {
            std::size_t i0 = i, j0 = j;
            while (i < a.size() && std::isdigit(static_cast<unsigned char>(a[i]))) ++i;
            while (j < b.size() && std::isdigit(static_cast<unsigned char>(b[j]))) ++j;
            std::string x = a.substr(i0, i - i0), y = b.substr(j0, j - j0);
            x.erase(0, std::min(x.find_first_not_of('0'), x.size()));
            y.erase(0, std::min(y.find_first_not_of('0'), y.size()));
            if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
            if (int c = x.compare(y); c != 0) return c < 0 ? -1 : 1;
        } else {
            if (a[i] != b[j]) return a[i] < b[j] ? -1 : 1;
            ++i;
            ++j;
        }
    }
    if (i < a.size()) return 1;
    if (j < b.size()) return -1;
    return 0;
}

Result<TemplateInfo> choose_template(const std::vector<TemplateInfo>& all, const TemplateRef& ref) {
    const TemplateInfo* best = nullptr;
    std::vector<std::string> versions;
    for (const auto& t : all) {
        bool match = ref.labels.empty() ? t.name == ref.name : has_all_labels(t, ref.labels);
        if (!match) continue;
        versions.push_back(t.version);
        if (!ref.version.empty() && t.version != ref.version) continue;
        if (!best || better(t, *best)) best = &t;
    }
    if (best) return *best;
    std::string message = "no template matches '" + ref.str() + "'";
    if (!versions.empty()) {
        std::sort(versions.begin(), versions.end(),
                  [](const auto& x, const auto& y) { return compare_versions(x, y) < 0; });
        message += " (versions of " + ref.name + ":";
        for (const auto& v : versions) message += " " + v;
        message += ")";
    }
    return Status::error(Code::not_found, message);
}

}  // namespace provisioner::vmhost
