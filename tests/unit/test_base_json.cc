#include <doctest/doctest.h>

#include "base/json.h"

TEST_CASE("base json: depth is counted outside strings only, and stops at the limit") {
    CHECK(base::json_depth("{}", 10) == 1);
    CHECK(base::json_depth(R"({"a":[1,{"b":[]}]})", 10) == 4);
    CHECK(base::json_depth(R"({"a":"[[[[[[\"[[[["})", 10) == 1);
    CHECK(base::json_depth(R"(["\\", [[]]])", 10) == 3);  // an escaped backslash ends no string
    CHECK(base::json_depth(std::string(1000, '['), 8) == 9);
    CHECK(base::json_depth("]]]][", 8) == 1);  // stray closers never go below zero
}

TEST_CASE("base json: documents over the size or depth limit are refused before parsing") {
    auto ok = base::parse_json(R"({"a":[1,2,{"b":null}]})");
    REQUIRE(ok);
    CHECK(ok.value["a"][2].contains("b"));

    auto deep = base::parse_json(std::string(100000, '[') + std::string(100000, ']'));
    CHECK_FALSE(deep);
    CHECK(deep.value.is_discarded());
    CHECK(deep.error == "the document is nested deeper than 64 levels");

    base::JsonLimits small{16, 4};
    CHECK(base::parse_json(R"({"a":"0123456789"})", small).error ==
          "the document is larger than 16 bytes");
    CHECK(base::parse_json("[[[[1]]]]", small));
    CHECK_FALSE(base::parse_json("[[[[[1]]]]]", small));
}

TEST_CASE("base json: malformed text and invalid UTF-8 say where, without quoting the input") {
    auto bad = base::parse_json(R"({"a": tru})");
    CHECK_FALSE(bad);
    CHECK(bad.error.starts_with("malformed JSON at byte "));
    CHECK(bad.value.is_discarded());
    auto latin1 = base::parse_json("{\"a\":\"caf\xe9\"}");
    CHECK_FALSE(latin1);
    CHECK(base::parse_json("").error.starts_with("malformed JSON"));
    // Found by fuzz_json: nlohmann throws out_of_range, not parse_error, for these.
    CHECK(base::parse_json("[-3e7100000]").error == "malformed JSON: a number out of range");
    CHECK_FALSE(base::parse_json(R"({"size": 655846e497})"));
}
