// The CLI's text output: tables, "key: value" fields, and how values are formatted.
#include <doctest/doctest.h>

#include "events_view.h"
#include "output/fields.h"
#include "output/format.h"
#include "output/table.h"

using namespace provisioner::cli;

TEST_CASE("cli: table aligns columns and leaves no trailing blanks") {
    Table table({"NAME", "MAC", "STATE"});
    table.add_row({"h1", "52:54:00:00:00:01", "enrolled"});
    table.add_row({"web-long-name", "52:54:00:00:00:02", "ready"});
    CHECK(table.render() ==
          "NAME           MAC                STATE\n"
          "h1             52:54:00:00:00:01  enrolled\n"
          "web-long-name  52:54:00:00:00:02  ready\n");
}

TEST_CASE("cli: table right-aligns numbers, fills missing cells, counts UTF-8 as one column") {
    Table table({"ID", "NAME", "NOTE"});
    table.add_row({"7", "héllo", "x"});
    table.add_row({"12", "b"});
    table.align_right(0);
    CHECK(table.render() ==
          "ID  NAME   NOTE\n"
          " 7  héllo  x\n"
          "12  b\n");
    CHECK(table.render(false) == " 7  héllo  x\n12  b\n");
}

TEST_CASE("cli: table minimum widths keep columns in place across batches") {
    Table first({"TIME", "HOST", "REASON"});
    first.set_min_width(0, 6);
    first.set_min_width(1, 4);
    first.add_row({"t1", "h1", "short"});
    Table second = first;
    CHECK(first.render() == "TIME    HOST  REASON\nt1      h1    short\n");
    second.add_row({"t2", "h22", "a longer reason"});
    CHECK(second.render(false) == "t1      h1    short\nt2      h22   a longer reason\n");
}

TEST_CASE("cli: an empty table is its header") {
    Table table({"A", "B"});
    CHECK(table.empty());
    CHECK(table.render() == "A  B\n");
    CHECK(table.render(false) == "");
}

TEST_CASE("cli: fields align values after their keys") {
    CHECK(render_fields({{"id", "1"}, {"name", "h1"}, {"raw size", "2.0 GiB"}, {"ip", ""}}) ==
          "id:       1\n"
          "name:     h1\n"
          "raw size: 2.0 GiB\n"
          "ip:\n");
}

TEST_CASE("cli: values are formatted for people") {
    using nlohmann::json;
    CHECK(text(json()) == "-");
    CHECK(text(json("")) == "-");
    CHECK(text(json("r1")) == "r1");
    CHECK(text(json(42)) == "42");
    CHECK(format_time(json(0)) == "1970-01-01 00:00:00");
    CHECK(format_time(json(1714564803123LL)) == "2024-05-01 12:00:03");
    CHECK(format_time(json()) == "-");
    CHECK(format_bytes(json(412000000)) == "392.9 MiB");
    CHECK(format_bytes(json()) == "-");
    CHECK(format_seconds(json(1000), json(44100)) == "43.1");
    CHECK(format_seconds(json(1000), json()) == "-");
    CHECK(image_label(json{{"id", 1}, {"name", "dom0"}, {"version", "2"}}) == "dom0@2");
    CHECK(image_label(json(3)) == "#3");
    CHECK(image_label(json()) == "-");
    CHECK(count(json(-5)) == 0);
    CHECK(count(json(5)) == 5);
    CHECK(field(json{{"a", 1}}, "b").is_null());
    CHECK(field(json("not an object"), "a").is_null());
}

TEST_CASE("cli: events read as transitions") {
    using nlohmann::json;
    json event = {{"id", 7},
                  {"time", 0},
                  {"host", 1},
                  {"mac", "52:54:00:00:00:01"},
                  {"from", "booting"},
                  {"to", "imaging"},
                  {"reason", "agent hello"}};
    CHECK(transition(event) == "booting -> imaging");
    event["from"] = nullptr;
    CHECK(transition(event) == "-> imaging");
    event["to"] = nullptr;
    CHECK(transition(event) == "-");
    CHECK(event_host(event) == "52:54:00:00:00:01");
    event["name"] = "h1";
    CHECK(event_host(event) == "h1");
    event.erase("name");
    event["mac"] = nullptr;
    CHECK(event_host(event) == "1");
}
