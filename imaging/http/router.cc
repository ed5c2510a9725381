#include "imaging/http/router.h"

#include <future>
#include <memory>
#include <type_traits>

#include "imaging/http/query.h"

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

namespace {

// The message of a Response or FileResponse, the head of a StreamResponse, the fallback of
// a DeferredResponse.
template <class R>
auto& head_of(R& r) {
    if constexpr (std::is_same_v<std::remove_const_t<R>, StreamResponse>)
        return r.head;
    else if constexpr (std::is_same_v<std::remove_const_t<R>, DeferredResponse>)
        return r.fallback;
    else
        return r;
}

}  // namespace

unsigned Reply::result_int() const {
    return std::visit([](const auto& r) { return head_of(r).result_int(); }, v_);
}

bool Reply::keep_alive() const {
    return std::visit([](const auto& r) { return head_of(r).keep_alive(); }, v_);
}

void Reply::keep_alive(bool on) {
    std::visit([on](auto& r) { head_of(r).keep_alive(on); }, v_);
}

Response Reply::into_text() && {
    if (is_stream()) {
        if (stream().source) stream().source->cancel();
        return std::move(stream().head);
    }
    if (is_deferred()) {
        DeferredResponse& d = deferred();
        auto answer = std::make_shared<std::promise<Response>>();
        auto future = answer->get_future();
        if (d.start)
            d.start([answer](Response r) { answer->set_value(std::move(r)); });
        if (future.wait_for(d.limit) != std::future_status::ready) return std::move(d.fallback);
        return future.get();
    }
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

void PathParams::add(std::string name, std::string value) {
    values_.emplace_back(std::move(name), std::move(value));
}

const std::string* PathParams::find(std::string_view name) const {
    for (const auto& [key, value] : values_)
        if (key == name) return &value;
    return nullptr;
}

std::string PathParams::get(std::string_view name) const {
    const std::string* value = find(name);
    return value ? *value : std::string();
}

namespace {

// "/a/b/" -> {"a", "b", ""}; "/" -> {""}.
std::vector<std::string_view> split_path(std::string_view path) {
    std::vector<std::string_view> pieces;
    if (path.starts_with('/')) path.remove_prefix(1);
    while (true) {
        auto slash = path.find('/');
        pieces.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return pieces;
}

}  // namespace

std::vector<Router::Segment> Router::parse_pattern(std::string_view pattern) {
    std::vector<Segment> segments;
    for (std::string_view piece : split_path(pattern)) {
        Segment s;
        if (piece.size() > 2 && piece.front() == '{' && piece.back() == '}') {
            std::string_view name = piece.substr(1, piece.size() - 2);
            s.kind = Segment::Kind::param;
            if (name.ends_with("...")) {
                s.kind = Segment::Kind::rest;
                name.remove_suffix(3);
            }
            s.text = std::string(name);
        } else {
            s.text = std::string(piece);
        }
        segments.push_back(std::move(s));
    }
    return segments;
}

bool Router::matches(const std::vector<Segment>& segments,
                     const std::vector<std::string_view>& pieces, PathParams& params,
                     bool& bad_escape) {
    PathParams found;
    std::size_t i = 0;
    for (const Segment& s : segments) {
        if (i >= pieces.size()) return false;
        switch (s.kind) {
        case Segment::Kind::literal:
            if (pieces[i] != s.text) return false;
            ++i;
            break;
        case Segment::Kind::param: {
            if (pieces[i].empty()) return false;
            auto value = percent_decode(pieces[i]);
            if (!value) {
                bad_escape = true;
                return false;
            }
            found.add(s.text, std::move(*value));
            ++i;
            break;
        }
        case Segment::Kind::rest: {
            std::string joined;
            for (std::size_t j = i; j < pieces.size(); ++j)
                joined.append(j == i ? "" : "/").append(pieces[j]);
            if (joined.empty()) return false;
            auto value = percent_decode(joined);
            if (!value) {
                bad_escape = true;
                return false;
            }
            found.add(s.text, std::move(*value));
            i = pieces.size();
            break;
        }
        }
    }
    if (i != pieces.size()) return false;
    params = std::move(found);
    return true;
}

bool Router::more_specific(const std::vector<Segment>& a, const std::vector<Segment>& b) {
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i)
        if (a[i].kind != b[i].kind) return a[i].kind < b[i].kind;
    return a.size() > b.size();
}

void Router::note_route(bhttp::verb method, const std::string& route) {
    for (const auto& [m, r] : routes_)
        if (m == method && r == route) return;
    routes_.emplace_back(method, route);
}

void Router::add(bhttp::verb method, std::string pattern, Handler handler, Dispatch dispatch) {
    note_route(method, pattern);
    Entry entry{std::move(handler), dispatch, pattern};
    if (pattern.find('{') == std::string::npos) {
        exact_[std::move(pattern)][method] = std::move(entry);
        return;
    }
    auto segments = parse_pattern(pattern);
    for (Pattern& p : patterns_) {
        bool same = p.segments.size() == segments.size();
        for (std::size_t i = 0; same && i < segments.size(); ++i)
            same = p.segments[i].kind == segments[i].kind &&
                   (segments[i].kind != Segment::Kind::literal ||
                    p.segments[i].text == segments[i].text);
        if (same) {
            p.methods[method] = std::move(entry);
            return;
        }
    }
    Pattern p{std::move(segments), {}};
    p.methods[method] = std::move(entry);
    patterns_.push_back(std::move(p));
}

void Router::add_prefix(bhttp::verb method, std::string prefix, Handler handler,
                        Dispatch dispatch) {
    note_route(method, prefix);
    Entry entry{std::move(handler), dispatch, prefix};
    prefixes_[std::move(prefix)][method] = std::move(entry);
}

RouteMatch Router::match(const Request& req) const {
    RouteMatch out;
    std::string_view path = target_path(std::string_view(req.target().data(), req.target().size()));
    const Methods* methods = nullptr;
    if (auto it = exact_.find(path); it != exact_.end()) methods = &it->second;
    bool bad_escape = false;
    if (!methods && !patterns_.empty()) {
        const auto pieces = split_path(path);
        const Pattern* best = nullptr;
        for (const Pattern& p : patterns_) {
            PathParams params;
            if (!matches(p.segments, pieces, params, bad_escape)) continue;
            if (!best || more_specific(p.segments, best->segments)) {
                best = &p;
                out.params = std::move(params);
            }
        }
        if (best) methods = &best->methods;
    }
    if (!methods) {
        std::size_t best_length = 0;
        for (const auto& [prefix, entries] : prefixes_) {
            if (path.starts_with(prefix) && prefix.size() >= best_length) {
                methods = &entries;
                best_length = prefix.size();
            }
        }
    }
    if (!methods) {
        out.error = bad_escape ? error(bhttp::status::bad_request,
                                       "malformed percent-escape in the path", req.version(),
                                       req.keep_alive())
                               : error(bhttp::status::not_found, "not found", req.version(),
                                       req.keep_alive());
        return out;
    }
    if (auto it = methods->find(req.method()); it != methods->end()) {
        out.handler = &it->second.handler;
        out.route = &it->second.route;
        out.dispatch = it->second.dispatch;
        return out;
    }
    std::string allow;
    for (const auto& [method, _] : *methods) {
        if (!allow.empty()) allow += ", ";
        auto name = bhttp::to_string(method);
        allow.append(name.data(), name.size());
    }
    out.params = {};
    out.error = error(bhttp::status::method_not_allowed,
                      "method not allowed (allowed: " + allow + ")", req.version(),
                      req.keep_alive());
    out.error->set(bhttp::field::allow, allow);
    return out;
}

Reply Router::route(const Request& req, const RequestContext& ctx) const {
    RouteMatch found = match(req);
    if (!found.handler) return std::move(*found.error);
    RequestContext with_params = ctx;
    with_params.params = std::move(found.params);
    return (*found.handler)(req, with_params);
}

}  // namespace imaging::http
