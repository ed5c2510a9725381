#include "provisioner/site.h"

#include <algorithm>
#include <fstream>
#include <optional>
#include <pugixml.hpp>
#include <sstream>
#include <utility>
#include <vector>

#include "checks.h"
#include "line_index.h"
#include "reader.h"

namespace provisioner::site {

std::string TemplateRef::str() const {
    switch (kind) {
        case Kind::none:
            return "";
        case Kind::name:
            return version.empty() ? name : name + "@" + version;
        case Kind::labels: {
            std::string text = "label=";
            for (std::size_t i = 0; i < labels.size(); ++i) text += (i ? "," : "") + labels[i];
            return text;
        }
    }
    return "";
}

const Vm* Site::find_vm(std::string_view name) const {
    for (const Vm& vm : vms)
        if (vm.name == name) return &vm;
    return nullptr;
}

std::string ParsedSite::summary(std::string_view source) const {
    std::string text;
    for (const Problem& p : problems) {
        if (!text.empty()) text += '\n';
        text += std::string(source) + ":" + std::to_string(p.line) + ": " + p.message;
    }
    return text;
}

namespace {

// A site file nests five deep (XSMConfig, Set, VM, SERVICE, PARAM); anything far deeper is
// not one, and is refused before any code walks it. pugixml parses without recursion, so the
// document may be built first and measured with an explicit stack.
constexpr std::size_t kMaxSiteBytes = 16 << 20;
constexpr std::size_t kMaxSiteDepth = 32;

std::optional<pugi::xml_node> deeper_than(const pugi::xml_document& doc, std::size_t limit) {
    std::vector<std::pair<pugi::xml_node, std::size_t>> stack{{doc, 0}};
    while (!stack.empty()) {
        auto [node, depth] = stack.back();
        stack.pop_back();
        if (depth > limit) return node;
        for (pugi::xml_node child : node.children()) stack.emplace_back(child, depth + 1);
    }
    return std::nullopt;
}

}  // namespace

ParsedSite parse_site(std::string_view xml) {
    ParsedSite parsed;
    if (xml.size() > kMaxSiteBytes) {
        parsed.problems.push_back({1, "the site file is larger than " +
                                          std::to_string(kMaxSiteBytes >> 20) + " MiB"});
        return parsed;
    }
    const LineIndex lines(xml);
    pugi::xml_document doc;
    const pugi::xml_parse_result result =
        doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
    if (!result) {
        parsed.problems.push_back(
            {lines.line_of(result.offset), std::string("malformed XML: ") + result.description()});
        return parsed;
    }
    if (auto deep = deeper_than(doc, kMaxSiteDepth)) {
        parsed.problems.push_back({lines.line_of(deep->offset_debug()),
                                   "elements nested deeper than " + std::to_string(kMaxSiteDepth) +
                                       " levels: not a site file"});
        return parsed;
    }
    read_site(doc, lines, parsed.site, parsed.problems);
    check_site(parsed.site, parsed.problems);
    std::stable_sort(parsed.problems.begin(), parsed.problems.end(),
                     [](const Problem& a, const Problem& b) { return a.line < b.line; });
    return parsed;
}

Result<Site> load_site(std::string_view xml, std::string_view source) {
    ParsedSite parsed = parse_site(xml);
    if (!parsed.ok()) return Status::error(Code::invalid_argument, parsed.summary(source));
    return std::move(parsed.site);
}

Result<Site> load_site_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Status::error(Code::not_found, "cannot read site file " + path);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in.good() && !in.eof())
        return Status::error(Code::not_found, "cannot read site file " + path);
    return load_site(text.str(), path);
}

}  // namespace provisioner::site
