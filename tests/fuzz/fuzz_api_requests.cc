// Raw HTTP requests, as any host on the provisioning LAN can send them, through Beast's parser
// (with the server's limits) and provisionerd's whole router, on an in-memory inventory.
// "@OP@" in the input becomes the operator token, so the fuzzer reaches the operator's
// routes as well as the unauthenticated and agent ones.
#define DOCTEST_CONFIG_IMPLEMENT  // the unit tests' fixture asserts with doctest
#include <doctest/doctest.h>

#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

#include "../unit/test_server_fixture.h"
#include "imaging/http/limits.h"

namespace {

servertest::Server& server() {
    static servertest::Server* s = [] {
        static doctest::Context assertions;  // the fixture's REQUIREs report to it
        assertions.setAsDefaultForAssertsOutOfTestCases();
        auto* made = new servertest::Server();
        made->import_image();
        return made;
    }();
    return *s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    servertest::Server& s = server();
    std::string text(reinterpret_cast<const char*>(data), size);
    for (auto at = text.find("@OP@"); at != std::string::npos; at = text.find("@OP@", at))
        text.replace(at, 4, s.token);
    boost::beast::http::request_parser<boost::beast::http::string_body> parser;
    imaging::http::Limits limits;
    parser.body_limit(limits.max_body_bytes);
    parser.header_limit(std::uint32_t(limits.max_header_bytes));
    boost::beast::error_code ec;
    parser.put(boost::asio::buffer(text), ec);
    if (ec || !parser.is_done()) return 0;
    auto reply = s.router.route(parser.release(), {});
    (void)reply;
    return 0;
}
