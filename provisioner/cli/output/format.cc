#include "output/format.h"

#include <cstdio>
#include <ctime>

#include "imaging/progress.h"

namespace provisioner::cli {

const nlohmann::json& field(const nlohmann::json& object, const char* key) {
    static const nlohmann::json kNull;
    if (!object.is_object()) return kNull;
    auto it = object.find(key);
    return it == object.end() ? kNull : *it;
}

std::string text(const nlohmann::json& value) {
    if (value.is_null()) return "-";
    if (value.is_string()) {
        const auto& s = value.get_ref<const std::string&>();
        return s.empty() ? "-" : s;
    }
    return value.dump();
}

std::uint64_t count(const nlohmann::json& value) {
    if (value.is_number_unsigned()) return value.get<std::uint64_t>();
    if (value.is_number_integer() && value.get<std::int64_t>() > 0) {
        return static_cast<std::uint64_t>(value.get<std::int64_t>());
    }
    if (value.is_number_float() && value.get<double>() > 0) {
        return static_cast<std::uint64_t>(value.get<double>());
    }
    return 0;
}

std::string format_time(const nlohmann::json& unix_ms) {
    if (!unix_ms.is_number()) return "-";
    std::time_t seconds = static_cast<std::time_t>(unix_ms.get<double>() / 1000);
    std::tm utc{};
    if (!::gmtime_r(&seconds, &utc)) return "-";
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &utc);
    return buf;
}

std::string format_bytes(const nlohmann::json& bytes) {
    if (!bytes.is_number()) return "-";
    return imaging::human_bytes(bytes.get<double>());
}

std::string format_seconds(const nlohmann::json& start_ms, const nlohmann::json& end_ms) {
    if (!start_ms.is_number() || !end_ms.is_number()) return "-";
    double seconds = (end_ms.get<double>() - start_ms.get<double>()) / 1000;
    if (seconds < 0) seconds = 0;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", seconds);
    return buf;
}

std::string image_label(const nlohmann::json& image) {
    const auto& name = field(image, "name");
    if (name.is_string()) {
        const auto& version = field(image, "version");
        return version.is_null() ? name.get<std::string>()
                                 : name.get<std::string>() + "@" + text(version);
    }
    if (image.is_number()) return "#" + image.dump();
    const auto& id = field(image, "id");
    return id.is_null() ? "-" : "#" + id.dump();
}

}  // namespace provisioner::cli
