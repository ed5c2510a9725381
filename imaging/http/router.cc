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

Result<FileResponse> make_file_response(const Request& req, bhttp::status status,
                                        const std::string& path, std::string_view content_type) {
    boost::beast::error_code ec;
    bhttp::file_body::value_type body;
    body.open(path.c_str(), boost::beast::file_mode::scan, ec);
    if (ec) return Status::error("cannot read " + path + ": " + ec.message());
    FileResponse res{std::piecewise_construct, std::make_tuple(std::move(body)),
                     std::make_tuple(status, req.version())};
    res.set(bhttp::field::content_type, std::string(content_type));
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    return res;
}

unsigned Reply::result_int() const {
    return std::visit([](const auto& r) { return r.result_int(); }, v_);
}

bool Reply::keep_alive() const {
    return std::visit([](const auto& r) { return r.keep_alive(); }, v_);
}

void Reply::keep_alive(bool on) {
    std::visit([on](auto& r) { r.keep_alive(on); }, v_);
}

Response Reply::into_text() && {
    if (!is_file()) return std::move(text());
    FileResponse& f = file();
    Response res{f.result(), f.version()};
    for (const auto& field : f.base()) res.set(field.name_string(), field.value());
    auto& source = f.body().file();
    boost::beast::error_code ec;
    source.seek(0, ec);
    std::string bytes(f.body().size(), '\0');
    std::size_t done = 0;
    while (!ec && done < bytes.size()) {
        std::size_t n = source.read(bytes.data() + done, bytes.size() - done, ec);
        if (n == 0) break;
        done += n;
    }
    bytes.resize(done);
    res.body() = std::move(bytes);
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

Reply Router::route(const Request& req, const RequestContext& ctx) const {
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
