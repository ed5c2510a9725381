// The template catalog as the store last listed it, kept with the store's data_version() it
// was read at and served while the store still answers that version: every Dom0 report is
// answered with the hot templates (hot_templates.h), and at 10,000 hosts that was a catalog
// read from the store per report while the catalog almost never changes.
//
// Thread-safe. A store that cannot tell its version (data_version() nullopt) is read each time.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "provisioner/records.h"
#include "provisioner/status.h"
#include "provisioner/store.h"

namespace provisioner::server {

class TemplateListCache {
  public:
    using Catalog = std::shared_ptr<const std::vector<Template>>;

    // store.list_templates(), or the copy read at the store's current version; its errors.
    Result<Catalog> get(Store& store);

  private:
    std::mutex mu_;
    std::optional<std::uint64_t> version_;
    Catalog catalog_;
};

}  // namespace provisioner::server
