#include "hot_templates.h"

#include <algorithm>
#include <map>
#include <set>

#include "provisioner/vmhost/template_ref.h"

namespace provisioner::server {

namespace {

bool newer(const Template& a, const Template& b) {
    return vmhost::compare_versions(a.version, b.version) > 0;
}

// Appends ref's backing chain, then ref, each once; a chain that loops or names a missing
// template stops there.
void append_chain(const std::map<std::string, const Template*>& by_ref, const std::string& ref,
                  std::set<std::string>& placed, std::set<std::string>& visiting,
                  std::vector<Template>& out) {
    auto it = by_ref.find(ref);
    if (it == by_ref.end() || placed.contains(ref) || !visiting.insert(ref).second) return;
    const Template& t = *it->second;
    if (!t.backing.empty()) append_chain(by_ref, t.backing, placed, visiting, out);
    placed.insert(ref);
    out.push_back(t);
}

}  // namespace

std::vector<Template> hot_templates(const std::vector<Template>& catalog, Timestamp now,
                                    std::chrono::seconds cool_down) {
    const Timestamp window =
        std::chrono::duration_cast<std::chrono::milliseconds>(cool_down).count();
    std::map<std::string, const Template*> by_ref, newest;
    std::set<std::string> used_names;
    for (const Template& t : catalog) {
        by_ref[t.ref()] = &t;
        const Template*& n = newest[t.name];
        if (!n || newer(t, *n)) n = &t;
        if (t.last_used_at && now - *t.last_used_at <= window) used_names.insert(t.name);
    }
    std::vector<const Template*> roots;
    for (const Template& t : catalog)
        if ((t.last_used_at && now - *t.last_used_at <= window) ||
            (used_names.contains(t.name) && newest[t.name] == &t))
            roots.push_back(&t);
    std::sort(roots.begin(), roots.end(), [](const Template* a, const Template* b) {
        if (a->name != b->name) return a->name < b->name;
        return vmhost::compare_versions(a->version, b->version) < 0;
    });
    std::vector<Template> out;
    std::set<std::string> placed, visiting;
    for (const Template* t : roots) append_chain(by_ref, t->ref(), placed, visiting, out);
    return out;
}

nlohmann::json hot_templates_json(
    const std::vector<Template>& hot,
    const std::function<std::optional<TemplateDelta>(const Template&)>& delta,
    std::chrono::seconds cool_down, const std::string& pubkey_pem) {
    nlohmann::json list = nlohmann::json::array();
    for (const Template& t : hot) {
        const std::optional<TemplateDelta> served = delta(t);
        list.push_back(
            {{"template", t.ref()},
             {"size", t.size},
             {"sha256", t.sha256},
             {"format", t.format},
             {"labels", t.labels},
             {"backing", t.backing.empty() ? nlohmann::json() : nlohmann::json(t.backing)},
             {"delta", served ? nlohmann::json(served->address) : nlohmann::json()},
             {"secret", served ? nlohmann::json(served->secret) : nlohmann::json()}});
    }
    return {{"hot", list}, {"cool_down", cool_down.count()}, {"pubkey", pubkey_pem}};
}

}  // namespace provisioner::server
