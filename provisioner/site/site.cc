#include "provisioner/site.h"

#include <algorithm>
#include <fstream>
#include <pugixml.hpp>
#include <sstream>

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

ParsedSite parse_site(std::string_view xml) {
    ParsedSite parsed;
    const LineIndex lines(xml);
    pugi::xml_document doc;
    const pugi::xml_parse_result result =
        doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
    if (!result) {
        parsed.problems.push_back(
            {lines.line_of(result.offset), std::string("malformed XML: ") + result.description()});
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
