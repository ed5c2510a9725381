#include "history_layout.h"

#include <cctype>

namespace provisioner::server::history_layout {

std::string escape(const std::string& name) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(name[i]);
        if (std::isalnum(c) || c == '_' || c == '-' || (c == '.' && i > 0)) {
            out += char(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::string unescape(const std::string& name) {
    auto digit = [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (c & ~0x20) - 'A' + 10;
    };
    std::string out;
    for (std::size_t i = 0; i < name.size(); ++i) {
        if (name[i] == '%' && i + 2 < name.size()) {
            out += char(digit(name[i + 1]) * 16 + digit(name[i + 2]));
            i += 2;
        } else {
            out += name[i];
        }
    }
    return out;
}

std::string host_key(const std::string& host_id) {
    return std::string(kHostFiles) + "/" + escape(host_id);
}

std::string vm_key(const std::string& vm) {
    return std::string(kVmFiles) + "/" + escape(vm);
}

std::string member_of(const Entity& entity) {
    return entity.kind == EntityKind::host ? std::string() : entity.name;
}

Series member_column(const std::string& member, const Series& series) {
    Series column{series.metric, {{"", member}}, series.kind};
    column.labels.insert(column.labels.end(), series.labels.begin(), series.labels.end());
    return column;
}

const std::string* column_member(const Series& column) {
    if (column.labels.empty() || !column.labels[0].first.empty()) return nullptr;
    return &column.labels[0].second;
}

Series strip_member(const Series& column) {
    return {column.metric, Labels(column.labels.begin() + 1, column.labels.end()), column.kind};
}

}  // namespace provisioner::server::history_layout
