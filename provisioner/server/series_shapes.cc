#include "series_shapes.h"

namespace provisioner::server {

std::shared_ptr<const std::vector<Series>> SeriesShapes::find(std::string_view key) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = shapes_.find(key);
    return it == shapes_.end() ? nullptr : it->second;
}

std::shared_ptr<const std::vector<Series>> SeriesShapes::keep(std::string_view key,
                                                             std::vector<Series> series) {
    auto shared = std::make_shared<const std::vector<Series>>(std::move(series));
    std::lock_guard<std::mutex> lock(mu_);
    auto it = shapes_.find(key);
    if (it != shapes_.end()) return it->second;  // another thread kept it meanwhile
    if (shapes_.size() < kMaxShapes) shapes_.emplace(std::string(key), shared);
    return shared;
}

std::shared_ptr<const std::vector<Series>> SeriesShapes::intern(std::vector<Series> series) {
    std::string key(1, '\0');  // no walk's name: apart from build()'s keys
    auto count = [&key](std::size_t size) {
        const std::uint32_t n = std::uint32_t(size);
        key.append(reinterpret_cast<const char*>(&n), sizeof n);
    };
    auto add = [&](const std::string& name) {
        count(name.size());
        key += name;
    };
    for (const Series& s : series) {
        key += char(s.kind);
        add(s.metric);
        count(s.labels.size());
        for (const auto& [k, v] : s.labels) {
            add(k);
            add(v);
        }
    }
    if (auto found = find(key)) return found;
    return keep(key, std::move(series));
}

std::size_t SeriesShapes::size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return shapes_.size();
}

}  // namespace provisioner::server
