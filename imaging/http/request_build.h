// The request both clients send (http_request and KeptClient): Host with the port unless it is
// the scheme's default (an IPv6 literal in brackets, RFC 9110 7.2), User-Agent, the caller's
// headers, the body with its Content-Type and Content-Length. Internal to imaging/http.
#pragma once

#include <boost/beast/http.hpp>
#include <string>

#include "imaging/http/client.h"

namespace imaging::http {

inline boost::beast::http::request<boost::beast::http::string_body> build_request(
    const Url& url, boost::beast::http::verb method, const ClientRequest& request) {
    namespace bhttp = boost::beast::http;
    bhttp::request<bhttp::string_body> req{method, url.target, 11};
    std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
    if (url.port != (url.tls ? "443" : "80")) host += ":" + url.port;
    req.set(bhttp::field::host, host);
    req.set(bhttp::field::user_agent, "provisioner");
    for (const auto& [name, value] : request.headers) req.set(name, value);
    if (!request.body.empty()) {
        req.set(bhttp::field::content_type, request.content_type);
        req.body() = request.body;
    }
    req.prepare_payload();
    return req;
}

}  // namespace imaging::http
