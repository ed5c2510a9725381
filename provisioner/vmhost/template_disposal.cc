// TemplateStore::dispose_cold: SO-MVDS's template disposal after a cool-down.
#include <algorithm>
#include <set>
#include <system_error>

#include "provisioner/vmhost/qemu_img.h"
#include "provisioner/vmhost/template_store.h"

namespace provisioner::vmhost {

namespace fs = std::filesystem;

Result<std::vector<TemplateInfo>> TemplateStore::dispose_cold(std::chrono::seconds cool_down,
                                                              const std::vector<fs::path>& vm_disks,
                                                              const std::set<std::string>& keep) {
    QemuImg qemu_img(*options_.runner, options_.qemu_img);
    std::set<std::string> in_use;
    for (const auto& disk : vm_disks) {
        std::error_code ec;
        if (!fs::exists(disk, ec)) continue;  // a VM gone since the list was made
        auto chain = qemu_img.backing_chain(disk);
        if (!chain) return chain.status().context("disposing of cold templates");
        for (const auto& layer : *chain)
            for (const auto& t : templates_)
                if (fs::equivalent(layer.filename, path_of(t), ec)) in_use.insert(t.id());
    }

    const std::int64_t now = unix_now();
    std::set<std::string> cold;
    for (const auto& t : templates_) {
        std::int64_t last = std::max(t.last_used, t.added);
        if (now - last > cool_down.count() && !in_use.count(t.id()) && !keep.count(t.id()))
            cold.insert(t.id());
    }
    // A template stays while a template that stays is built on it.
    for (bool changed = true; changed;) {
        changed = false;
        for (const auto& t : templates_)
            if (!cold.count(t.id()) && !t.parent.empty() && cold.erase(t.parent)) changed = true;
    }
    if (cold.empty()) return std::vector<TemplateInfo>{};

    std::vector<TemplateInfo> removed, kept;
    for (const auto& t : templates_) (cold.count(t.id()) ? removed : kept).push_back(t);
    std::swap(templates_, kept);
    if (Status s = save(); !s) {
        std::swap(templates_, kept);
        return s.context("disposing of cold templates");
    }
    for (const auto& t : removed) {
        std::error_code ec;
        fs::remove(path_of(t), ec);
    }
    return removed;
}

}  // namespace provisioner::vmhost
