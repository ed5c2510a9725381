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

void Router::add(bhttp::verb method, std::string path, Handler handler) {
    routes_[{std::move(path), method}] = std::move(handler);
}

Response Router::route(const Request& req, const RequestContext& ctx) const {
    std::string path(target_path(std::string_view(req.target().data(), req.target().size())));
    if (auto it = routes_.find(std::pair{path, req.method()}); it != routes_.end()) {
        return it->second(req, ctx);
    }
    std::string allow;
    for (const auto& [key, _] : routes_) {
        if (key.first != path) continue;
        if (!allow.empty()) allow += ", ";
        auto name = bhttp::to_string(key.second);
        allow.append(name.data(), name.size());
    }
    if (allow.empty()) return make_response(req, bhttp::status::not_found, "not found\n");
    Response res = make_response(req, bhttp::status::method_not_allowed, "method not allowed\n");
    res.set(bhttp::field::allow, allow);
    return res;
}

}  // namespace imaging::http
