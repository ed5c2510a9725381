#include "imaging/http/router.h"

namespace imaging::http {

Response make_response(const Request& req, bhttp::status status, std::string body,
                       std::string_view content_type) {
    Response res{status, req.version()};
    res.set(bhttp::field::content_type, std::string(content_type));
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

std::string_view target_path(std::string_view target) {
    return target.substr(0, target.find('?'));
}

Response Router::error(bhttp::status status, std::string_view message, unsigned version,
                       bool keep_alive) const {
    auto [type, body] = error_format_ ? error_format_(status, message)
                                      : std::pair(std::string("text/plain"),
                                                  std::string(message) + "\n");
    Response res{status, version};
    res.set(bhttp::field::content_type, type);
    res.keep_alive(keep_alive);
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
}

void Router::add(bhttp::verb method, std::string path, Handler handler) {
    exact_[std::move(path)][method] = std::move(handler);
}

void Router::add_prefix(bhttp::verb method, std::string prefix, Handler handler) {
    prefixes_[std::move(prefix)][method] = std::move(handler);
}

const std::map<bhttp::verb, Handler>* Router::find(std::string_view path) const {
    if (auto it = exact_.find(path); it != exact_.end()) return &it->second;
    const std::map<bhttp::verb, Handler>* best = nullptr;
    std::size_t best_length = 0;
    for (const auto& [prefix, handlers] : prefixes_) {
        if (path.starts_with(prefix) && prefix.size() >= best_length) {
            best = &handlers;
            best_length = prefix.size();
        }
    }
    return best;
}

Response Router::route(const Request& req, const RequestContext& ctx) const {
    std::string_view path = target_path(std::string_view(req.target().data(), req.target().size()));
    const auto* handlers = find(path);
    if (!handlers) return error(bhttp::status::not_found, "not found", req.version(), req.keep_alive());
    if (auto it = handlers->find(req.method()); it != handlers->end()) return it->second(req, ctx);
    std::string allow;
    for (const auto& [method, _] : *handlers) {
        if (!allow.empty()) allow += ", ";
        auto name = bhttp::to_string(method);
        allow.append(name.data(), name.size());
    }
    Response res = error(bhttp::status::method_not_allowed, "method not allowed (allowed: " + allow + ")",
                         req.version(), req.keep_alive());
    res.set(bhttp::field::allow, allow);
    return res;
}

}  // namespace imaging::http
