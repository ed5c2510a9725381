#include "template_index.h"
#include "base/json.h"

#include <nlohmann/json.hpp>

namespace provisioner::vmhost {

namespace {

// Written by us beside the templates, read back with limits like anything on disk.
const base::JsonLimits kIndexLimits{64 << 20, 16};

constexpr int kIndexVersion = 1;

}  // namespace

std::string index_to_json(const std::vector<TemplateInfo>& templates) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& t : templates) {
        list.push_back({{"name", t.name},
                        {"version", t.version},
                        {"labels", t.labels},
                        {"parent", t.parent},
                        {"format", t.format},
                        {"file", t.file},
                        {"added", t.added},
                        {"last_used", t.last_used},
                        {"use_count", t.use_count}});
    }
    nlohmann::json doc{{"index_version", kIndexVersion}, {"templates", list}};
    return doc.dump(2) + "\n";
}

Result<std::vector<TemplateInfo>> index_from_json(const std::string& text,
                                                  const std::string& file_name) {
    auto bad = [&](const std::string& why) {
        return Status::error(Code::storage, "template index " + file_name + ": " + why);
    };
    auto doc = base::parse_json(text, kIndexLimits).value;
    if (doc.is_discarded() || !doc.is_object()) return bad("not a JSON object");
    if (doc.value("index_version", 0) != kIndexVersion) return bad("unknown index_version");
    std::vector<TemplateInfo> out;
    try {
        for (const auto& j : doc.at("templates")) {
            TemplateInfo t;
            t.name = j.at("name").get<std::string>();
            t.version = j.at("version").get<std::string>();
            t.labels = j.at("labels").get<std::vector<std::string>>();
            t.parent = j.at("parent").get<std::string>();
            t.format = j.at("format").get<std::string>();
            t.file = j.at("file").get<std::string>();
            t.added = j.at("added").get<std::int64_t>();
            t.last_used = j.at("last_used").get<std::int64_t>();
            t.use_count = j.at("use_count").get<std::uint64_t>();
            bool file_ok =
                !t.file.empty() && t.file.find('/') == std::string::npos && t.file[0] != '.';
            if (!valid_template_name(t.name) || !valid_template_name(t.version) || !file_ok)
                return bad("bad entry '" + t.id() + "'");
            for (const auto& l : t.labels)
                if (!valid_label(l)) return bad("bad label '" + l + "' on " + t.id());
            out.push_back(std::move(t));
        }
    } catch (const nlohmann::json::exception& e) {
        return bad(e.what());
    }
    return out;
}

}  // namespace provisioner::vmhost
