// GET /metrics through the real route table (mount_api): every route's request series exist at
// 0 from the start, the inventory's hosts by rack and state, boot scripts counted by kind.
#include <doctest/doctest.h>

#include "api_routes.h"
#include "test_server_fixture.h"
#include "test_util.h"

using namespace servertest;

namespace {

using testutil::has_line;

}  // namespace

TEST_CASE("GET /metrics: every route at 0 from the start, hosts by rack, boot scripts by kind") {
    Server s;
    add_test_host(*s.store, "web-1", 1);  // 52:54:00:00:00:01, enrolled in r1
    // An enrolled host boots its disk; an unknown MAC is discovered and boots the agent.
    CHECK(s.call(bhttp::verb::get, "/boot/52-54-00-00-00-01.ipxe", "", "").result_int() == 200);
    CHECK(s.call(bhttp::verb::get, "/boot/52-54-00-00-00-0a.ipxe", "", "").result_int() == 200);
    auto res = s.call(bhttp::verb::get, "/metrics");
    REQUIRE(res.result_int() == 200);
    const std::string text = res.body();
    // Router::route runs handlers without a session, so nothing was observed: all at 0.
    for (const Route& r : api_routes()) {
        const auto method = bhttp::to_string(r.method);
        const std::string labels = "method=\"" + std::string(method.data(), method.size()) +
                                   "\",route=\"" + r.pattern + "\"";
        CHECK_MESSAGE(has_line(text, "provisioner_http_requests_total{" + labels +
                                         ",status=\"2xx\"} 0"),
                      r.pattern);
        CHECK_MESSAGE(has_line(text, "provisioner_http_request_duration_seconds_count{" + labels +
                                         "} 0"),
                      r.pattern);
    }
    CHECK(has_line(text, "provisioner_http_requests_total{method=\"GET\",route=\"/announce\","
                         "status=\"2xx\"} 0"));  // the tracker's, mounted beside the table
    CHECK(has_line(text, "provisioner_rack_hosts{rack=\"r1\",state=\"enrolled\"} 1"));
    CHECK(has_line(text, "provisioner_rack_hosts{rack=\"\",state=\"discovered\"} 1"));
    CHECK(has_line(text, "provisioner_boot_scripts_served_total{kind=\"local_disk\"} 1"));
    CHECK(has_line(text, "provisioner_boot_scripts_served_total{kind=\"discovery\"} 1"));
    CHECK(has_line(text, "provisioner_boot_scripts_served_total{kind=\"netboot\"} 0"));
    CHECK(has_line(text, "provisioner_images 0"));
    CHECK(has_line(text, "provisioner_deployments{state=\"running\"} 0"));
    CHECK(text.find("provisioner_dnsmasq_up") == std::string::npos);  // this server runs no DHCP
    CHECK(has_line(text, "provisioner_hosts{state=\"enrolled\"} 1"));  // metrics_text's, still
}
