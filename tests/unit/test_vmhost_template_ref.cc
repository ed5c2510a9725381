// vmhost: template references (name, name@version, label query) and SO-MVDS's choice: the
// most recently used, else the newest version.
#include <doctest/doctest.h>

#include "provisioner/vmhost/template_ref.h"

using namespace provisioner;
using namespace provisioner::vmhost;

namespace {

TemplateInfo tmpl(const char* name, const char* version, std::vector<std::string> labels,
                  std::int64_t added, std::int64_t last_used = 0) {
    TemplateInfo t;
    t.name = name;
    t.version = version;
    t.labels = std::move(labels);
    t.format = "qcow2";
    t.file = t.id() + ".qcow2";
    t.added = added;
    t.last_used = last_used;
    return t;
}

std::string pick(const std::vector<TemplateInfo>& all, const char* ref) {
    auto parsed = parse_template_ref(ref);
    REQUIRE_MESSAGE(parsed.is_ok(), parsed.status().message());
    auto t = choose_template(all, *parsed);
    return t.is_ok() ? t->id() : "error: " + t.status().message();
}

}  // namespace

TEST_CASE("vmhost: template references parse, and bad ones say why") {
    auto r = parse_template_ref("debian");
    REQUIRE(r.is_ok());
    CHECK(r->name == "debian");
    CHECK(r->version.empty());
    r = parse_template_ref("debian@12.5");
    REQUIRE(r.is_ok());
    CHECK(r->version == "12.5");
    CHECK(r->str() == "debian@12.5");
    r = parse_template_ref("label=web,os:debian");
    REQUIRE(r.is_ok());
    CHECK(r->labels == std::vector<std::string>{"web", "os:debian"});
    CHECK(r->str() == "label=web,os:debian");
    for (const char* bad : {"", "@1", "debian@", "deb ian", "label=", "label=web,", "a@b@c",
                            "../etc", "-x", "label=w e"}) {
        auto p = parse_template_ref(bad);
        CHECK_MESSAGE(!p.is_ok(), bad);
        CHECK(p.status().code() == Code::invalid_argument);
        CHECK(p.status().message().find("expected NAME") != std::string::npos);
    }
}

TEST_CASE("vmhost: versions compare as versions") {
    CHECK(compare_versions("1.9", "1.10") < 0);
    CHECK(compare_versions("2", "10") < 0);
    CHECK(compare_versions("12.5", "12.5") == 0);
    CHECK(compare_versions("1.0", "1.0.1") < 0);
    CHECK(compare_versions("007", "7") == 0);
    CHECK(compare_versions("1.0-rc2", "1.0-rc10") < 0);
    CHECK(compare_versions("b", "a") > 0);
}

TEST_CASE("vmhost: a reference without version takes the most recently used, else the newest") {
    std::vector<TemplateInfo> all = {
        tmpl("debian", "11", {"os"}, 100),
        tmpl("debian", "12", {"os"}, 90),  // added earlier but newer
        tmpl("web", "1.9", {"web", "nginx"}, 100),
        tmpl("web", "1.10", {"web", "nginx"}, 100),
        tmpl("db", "3", {"db"}, 100),
    };
    CHECK(pick(all, "debian") == "debian@12");
    CHECK(pick(all, "debian@11") == "debian@11");
    CHECK(pick(all, "web") == "web@1.10");
    all[0].last_used = 500;  // debian@11 was used: it wins over the newer 12
    CHECK(pick(all, "debian") == "debian@11");
    all[1].last_used = 600;
    CHECK(pick(all, "debian") == "debian@12");
    all[2].last_used = 700;
    CHECK(pick(all, "web") == "web@1.9");
    CHECK(pick(all, "label=nginx") == "web@1.9");
    CHECK(pick(all, "label=os") == "debian@12");
    CHECK(pick(all, "label=web,nginx") == "web@1.9");
    CHECK(pick(all, "label=db") == "db@3");
    CHECK(pick(all, "label=db,web") == "error: no template matches 'label=db,web'");
    CHECK(pick(all, "centos") == "error: no template matches 'centos'");
    CHECK(pick(all, "web@2.0") ==
          "error: no template matches 'web@2.0' (versions of web: 1.9 1.10)");
}
