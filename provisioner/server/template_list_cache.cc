#include "template_list_cache.h"

namespace provisioner::server {

Result<TemplateListCache::Catalog> TemplateListCache::get(Store& store) {
    // The version is read before the catalog: a change committed in between makes the copy
    // newer than its version says, and the next call, seeing another version, reads again.
    const std::optional<std::uint64_t> version = store.data_version();
    if (version) {
        std::lock_guard lock(mu_);
        if (catalog_ && version_ == version) return catalog_;
    }
    auto listed = store.list_templates();
    if (!listed) return listed.status();
    auto catalog = std::make_shared<const std::vector<Template>>(std::move(*listed));
    if (version) {
        std::lock_guard lock(mu_);
        version_ = version;
        catalog_ = catalog;
    }
    return catalog;
}

}  // namespace provisioner::server
