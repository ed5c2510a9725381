// The metrics history: its file of round-robin archives, the API's since and step, the
// downsampling, the recorder's rates and averages, and its bounds (old rows overwritten, the
// file's size fixed, series bounded, silent entities' files swept).
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "base/clock.h"
#include "history_file.h"
#include "history_query.h"
#include "history_samples.h"
#include "metrics_history.h"
#include "test_history_fixture.h"
#include "test_server_fixture.h"
#include "test_util.h"

using namespace provisioner;
using namespace provisioner::server;

namespace {

using historytest::counter;
using historytest::gauge;
using historytest::kT0;
using historytest::small;

const Entity kHost{EntityKind::host, "1"};

std::size_t column(const HistoryAnswer& a, const std::string& metric, const Labels& labels = {}) {
    for (std::size_t i = 0; i < a.series.size(); ++i)
        if (a.series[i].metric == metric && a.series[i].labels == labels) return i;
    FAIL("no series " << metric);
    return 0;
}

}  // namespace

TEST_CASE("history file: rows by bucket, overwritten after `rows` steps, a fixed size") {
    testutil::TempDir dir;
    const auto path = dir / "h.hist";
    const std::vector<ArchiveSpec> archives = {{10, 6}, {60, 10}};
    const std::vector<Series> columns = {gauge("node_load1"),
                                         counter("node_cpu_seconds_total", {{"mode", "idle"}})};
    REQUIRE(HistoryFile::create(path, archives, columns));
    CHECK(std::filesystem::file_size(path) == HistoryFile::file_bytes(archives, columns));
    auto file = HistoryFile::open(path, true);
    REQUIRE(file);
    CHECK((*file)->archives() == archives);
    REQUIRE((*file)->columns().size() == 2);
    CHECK((*file)->columns()[1].labels == Labels{{"mode", "idle"}});
    CHECK((*file)->columns()[1].kind == SeriesKind::counter);

    for (std::int64_t b = 100; b < 110; ++b)
        REQUIRE((*file)->write_row(0, HistoryRow{b, 1, {float(b), 0.5f}}));
    // Six rows kept: 104..109; 100..103 were overwritten.
    CHECK((*file)->read_row(0, 103)->bucket == 0);
    CHECK((*file)->read_row(0, 104)->values[0] == 104.0f);
    // Read as of bucket 120, all of them are too old; as of 109, six are kept.
    CHECK((*file)->read_rows(0, 90, 120)->empty());
    auto rows = (*file)->read_rows(0, 90, 109);
    REQUIRE(rows);
    REQUIRE(rows->size() == 6);
    CHECK(rows->front().bucket == 104);
    CHECK(rows->back().bucket == 109);
    // A span that wraps around the end of the archive reads in order.
    rows = (*file)->read_rows(0, 105, 108);
    REQUIRE(rows->size() == 4);
    CHECK(rows->at(0).bucket == 105);
    CHECK(rows->at(3).bucket == 108);
    CHECK(std::filesystem::file_size(path) == HistoryFile::file_bytes(archives, columns));

    SUBCASE("a file that is not a history, or cut short, is refused") {
        std::filesystem::resize_file(path, 100);
        CHECK_FALSE(HistoryFile::open(path, false));
        testutil::write_file(path, {'n', 'o', 'p', 'e'});
        CHECK_FALSE(HistoryFile::open(path, false));
        CHECK(HistoryFile::open(dir / "absent.hist", false).status().code() == Code::not_found);
    }
    SUBCASE("bounds") {
        std::vector<Series> many;
        for (std::size_t i = 0; i <= kMaxHistoryFileColumns; ++i)
            many.push_back(gauge("s" + std::to_string(i)));
        CHECK(HistoryFile::create(dir / "x", archives, many).code() == Code::invalid_argument);
        CHECK_FALSE(HistoryFile::create(dir / "x", {}, columns));
        CHECK_FALSE(HistoryFile::create(dir / "x", archives, {gauge(std::string(201, 'a'))}));
    }
}

TEST_CASE("history file: create_open makes the file whole at its path, open, its layout known") {
    testutil::TempDir dir;
    const auto path = dir / "h.hist";
    const std::vector<ArchiveSpec> archives = {{10, 6}, {60, 10}};
    const std::vector<Series> columns = {gauge("node_load1"),
                                         counter("node_cpu_seconds_total", {{"mode", "idle"}})};
    auto entries = [&] {
        std::size_t n = 0;
        for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++n;
        return n;
    };
    auto made = HistoryFile::create_open(path, archives, columns);
    REQUIRE(made);
    HistoryFile& file = **made;
    CHECK(file.is_open());
    CHECK(file.archives() == archives);
    REQUIRE(file.columns().size() == 2);
    CHECK(std::filesystem::file_size(path) == HistoryFile::file_bytes(archives, columns));
    CHECK(entries() == 1);  // no temporary name left behind
    CHECK(file.read_row(0, 100)->bucket == 0);  // every row empty
    REQUIRE(file.write_row(1, HistoryRow{100, 2, {1.5f, 2.5f}}));
    // What another reader opens: the same header and the row just written.
    auto read = HistoryFile::open(path, false);
    REQUIRE(read);
    CHECK((*read)->archives() == archives);
    REQUIRE((*read)->columns().size() == 2);
    CHECK((*read)->columns()[1].labels == Labels{{"mode", "idle"}});
    CHECK((*read)->columns()[1].kind == SeriesKind::counter);
    CHECK((*read)->read_row(1, 100)->values[1] == 2.5f);
    // A file already at the path is replaced whole; the bounds are create()'s.
    auto replaced = HistoryFile::create_open(path, archives, {gauge("other")});
    REQUIRE(replaced);
    CHECK((*replaced)->columns().size() == 1);
    CHECK(std::filesystem::file_size(path) == HistoryFile::file_bytes(archives, {gauge("other")}));
    CHECK(entries() == 1);
    CHECK(HistoryFile::create_open(dir / "x", {}, columns).status().code() ==
          Code::invalid_argument);
    CHECK(entries() == 1);
}

TEST_CASE("history query: since and step as the API reads them") {
    const std::int64_t now = kT0;
    CHECK(*parse_duration("90s") == 90);
    CHECK(*parse_duration("15m") == 900);
    CHECK(*parse_duration("1h") == 3600);
    CHECK(*parse_duration("7d") == 7 * 86400);
    CHECK(*parse_duration("2w") == 14 * 86400);
    for (const char* bad : {"", "h", "1", "-1h", "0m", "1.5h", "1y", "1hh", " 1h", "99999999999d"})
        CHECK_MESSAGE(parse_duration(bad).status().code() == Code::invalid_argument, bad);

    CHECK(*parse_since("1h", now) == now - 3600);
    CHECK(*parse_since("1700000000", now) == 1'700'000'000);
    CHECK_FALSE(parse_since(std::to_string(now + 1), now));  // the future
    CHECK_FALSE(parse_since("yesterday", now));
    CHECK(parse_since("abc", now).status().message().find("since") != std::string::npos);

    CHECK(*parse_step("60") == 60);
    CHECK(*parse_step("5m") == 300);
    CHECK_FALSE(parse_step("0"));
    CHECK_FALSE(parse_step("-5"));
    CHECK_FALSE(parse_step("fast"));

    const std::vector<ArchiveSpec> archives = {{15, 5760}, {300, 8640}};
    CHECK(choose_archive(archives, now - 3600, now) == 0);
    CHECK(choose_archive(archives, now - 86400, now) == 0);
    CHECK(choose_archive(archives, now - 86401, now) == 1);
    CHECK(choose_archive(archives, now - 90 * 86400, now) == 1);  // beyond all: the coarsest

    // The step: at least the archive's, a multiple of it, about 240 points when not asked,
    // and never more than 4000 points.
    CHECK(effective_step(archives[0], now - 3600, now, 0) == 15);
    CHECK(effective_step(archives[0], now - 86400, now, 0) == 360);
    CHECK(effective_step(archives[0], now - 3600, now, 1) == 15);
    CHECK(effective_step(archives[0], now - 3600, now, 20) == 30);
    CHECK(effective_step(archives[0], now - 3600, now, 60) == 60);
    CHECK(effective_step(archives[1], now - 30 * 86400, now, 1) == 900);  // 2880 points
    CHECK(effective_step(archives[0], now - 86400, now, 15) == 30);       // 5760 > 4000
}

TEST_CASE("history query: downsampling averages the rows in each step, gaps are NaN") {
    const ArchiveSpec archive{10, 100};
    const std::vector<Series> columns = {gauge("a"), gauge("b")};
    const float nan = std::nanf("");
    // Buckets of 10 s from kT0: values 1, 3 in the first minute, none in the second, 5 in the
    // third; series b only in the first row.
    std::vector<HistoryRow> rows = {
        {kT0 / 10, 1, {1, 7}},
        {kT0 / 10 + 1, 1, {3, nan}},
        {kT0 / 10 + 12, 2, {5, nan}},
    };
    auto a = downsample(columns, archive, rows, kT0 + 5, kT0 + 150, 60);
    CHECK(a.since == kT0);  // rounded down to the step
    CHECK(a.step == 60);
    REQUIRE(a.times == std::vector<std::int64_t>{kT0, kT0 + 60, kT0 + 120});
    CHECK(a.until == kT0 + 180);
    CHECK(a.values[0][0] == doctest::Approx(2));
    CHECK(std::isnan(a.values[0][1]));
    CHECK(a.values[0][2] == doctest::Approx(5));
    CHECK(a.values[1][0] == doctest::Approx(7));
    CHECK(std::isnan(a.values[1][2]));
    // Rows before since are left out.
    a = downsample(columns, archive, rows, kT0 + 60, kT0 + 150, 60);
    REQUIRE(a.times.size() == 2);
    CHECK(std::isnan(a.values[0][0]));
    CHECK(a.values[0][1] == doctest::Approx(5));
}

TEST_CASE("metrics history: gauges averaged per bucket, counters as rates, both archives") {
    testutil::TempDir dir;
    base::FakeClock clock;
    MetricsHistory history(small(dir.path()), clock);
    auto report = [&](std::int64_t t, double load, double idle) {
        history.record(kHost, double(t),
                       {{gauge("node_load1"), load},
                        {counter("node_cpu_seconds_total", {{"mode", "idle"}}), idle}});
    };
    report(kT0, 1.0, 1000);      // no rate yet: the first report of a counter
    report(kT0 + 5, 3.0, 1010);  // same 10 s bucket: load 2 on average; idle 2/s
    report(kT0 + 10, 5.0, 1020);
    report(kT0 + 20, 7.0, 1020);  // idle 0/s
    history.flush();

    auto fine = history.read(kHost, kT0, kT0 + 25, 10);
    REQUIRE(fine);
    CHECK(fine->archive.step_seconds == 10);
    const std::size_t load = column(*fine, "node_load1");
    const std::size_t idle = column(*fine, "node_cpu_seconds_total", {{"mode", "idle"}});
    CHECK(fine->series[idle].kind == SeriesKind::counter);
    REQUIRE(fine->times.size() == 3);
    CHECK(fine->values[load][0] == doctest::Approx(2));
    CHECK(fine->values[load][1] == doctest::Approx(5));
    CHECK(fine->values[load][2] == doctest::Approx(7));
    CHECK(fine->values[idle][0] == doctest::Approx(2));
    CHECK(fine->values[idle][1] == doctest::Approx(2));
    CHECK(fine->values[idle][2] == doctest::Approx(0));

    // The 60 s archive has the same reports averaged by minute (asked for 2 min: beyond the
    // fine archive's minute).
    auto coarse = history.read(kHost, kT0 - 60, kT0 + 25, 0);
    REQUIRE(coarse);
    CHECK(coarse->archive.step_seconds == 60);
    REQUIRE(coarse->times.size() == 2);
    CHECK(std::isnan(coarse->values[load][0]));
    CHECK(coarse->values[load][1] == doctest::Approx(4));        // (1 + 3 + 5 + 7) / 4
    CHECK(coarse->values[idle][1] == doctest::Approx(4.0 / 3));  // (2 + 2 + 0) / 3

    auto latest = history.latest(EntityKind::host);
    REQUIRE(latest.size() == 1);
    CHECK(latest[0].time == kT0 + 20);
    CHECK(latest[0].values[load] == doctest::Approx(7));
    CHECK(history.counts().recorded == 4);
    CHECK(history.read(Entity{EntityKind::vm, "v1"}, kT0, kT0 + 25, 0).status().code() ==
          Code::not_found);

    SUBCASE("a counter that goes down (a reboot) gives no rate, then rates again") {
        report(kT0 + 30, 1.0, 5);
        report(kT0 + 40, 1.0, 25);
        history.flush();
        auto a = history.read(kHost, kT0 + 30, kT0 + 45, 10);
        REQUIRE(a->times.size() == 2);
        CHECK(std::isnan(a->values[idle][0]));
        CHECK(a->values[idle][1] == doctest::Approx(2));
    }
    SUBCASE("a server restarted mid-bucket goes on averaging into the row on disk") {
        MetricsHistory again(small(dir.path()), clock);
        again.record(kHost, double(kT0 + 25), {{gauge("node_load1"), 9.0}});
        again.flush();
        auto a = again.read(kHost, kT0 + 20, kT0 + 25, 10);
        REQUIRE(a);
        CHECK(a->values[column(*a, "node_load1")][0] == doctest::Approx(8));  // (7 + 9) / 2
    }
}

TEST_CASE("history file: a closed descriptor reopened without its header; names dropped") {
    testutil::TempDir dir;
    const auto path = dir / "h.hist";
    const std::vector<ArchiveSpec> archives = {{10, 6}};
    REQUIRE(HistoryFile::create(path, archives, {gauge("a"), gauge("b")}));
    auto file = HistoryFile::open(path, true);
    REQUIRE(file);
    HistoryFile& f = **file;
    REQUIRE(f.write_row(0, {kT0 / 10, 1, {1.5f, 2.5f}}));
    f.close_descriptor();
    CHECK_FALSE(f.is_open());
    CHECK(f.columns().empty());
    CHECK_FALSE(f.read_row(0, kT0 / 10));  // no descriptor: an error, not a stale row
    REQUIRE(f.reopen(true));
    auto row = f.read_row(0, kT0 / 10);
    REQUIRE(row);
    REQUIRE(row->values.size() == 2);
    CHECK(row->values[1] == 2.5f);
    CHECK(f.write_row(0, {kT0 / 10 + 1, 1, {3.0f, 4.0f}}));
    f.close_descriptor();
    std::filesystem::resize_file(path, std::filesystem::file_size(path) + 4);
    CHECK(f.reopen(true).code() == Code::storage);  // not the size its header gave
    std::filesystem::remove(path);
    CHECK(f.reopen(true).code() == Code::not_found);
}

TEST_CASE("metrics history: more entities than open descriptors; one shared copy of columns") {
    testutil::TempDir dir;
    base::FakeClock clock;
    HistoryOptions options = small(dir.path());
    options.max_open_files = 256;
    MetricsHistory history(options, clock);
    constexpr int kEntities = 300;  // beyond the writer's 256 descriptors
    for (double load : {1.0, 3.0}) {
        for (int e = 0; e < kEntities; ++e)
            history.record({EntityKind::vm, "vm" + std::to_string(e)}, double(kT0 + 2 * load),
                           {{gauge("node_load1"), load + e}});
        history.flush();  // each round a batch of its own: descriptors closed in between
    }
    CHECK(history.counts().recorded == 2 * kEntities);
    CHECK(history.counts().errors == 0);
    for (int e : {0, 150, 299}) {
        auto a = history.read({EntityKind::vm, "vm" + std::to_string(e)}, kT0, kT0 + 9, 10);
        REQUIRE(a);
        REQUIRE(a->times.size() == 1);
        CHECK(a->values[0][0] == doctest::Approx(2.0 + e));  // (1 + e + 3 + e) / 2
    }
    const auto latest = history.latest(EntityKind::vm);
    REQUIRE(latest.size() == std::size_t(kEntities));
    for (const LatestValues& v : latest) CHECK(v.series == latest[0].series);
}

TEST_CASE("metrics history: bounded: old data dropped, the file's size fixed, series bounded") {
    testutil::TempDir dir;
    base::FakeClock clock;
    MetricsHistory history(small(dir.path()), clock);
    const auto file = history.file_of(kHost);
    // 30 minutes of reports every 5 s: three times what the 60 s archive keeps.
    for (std::int64_t t = 0; t < 1800; t += 5)
        history.record(kHost, double(kT0 + t), {{gauge("g"), double(t)}});
    history.flush();
    const auto size = std::filesystem::file_size(file);
    CHECK(size == HistoryFile::file_bytes(small(dir.path()).archives,
                                          {MetricsHistory::file_column("", gauge("g"))}));
    CHECK(size < 400);
    const std::int64_t now = kT0 + 1795;
    // The fine archive holds the last minute only; the coarse one the last ten.
    auto all = history.read(kHost, kT0, now, 60);
    REQUIRE(all);
    CHECK(all->archive.step_seconds == 60);
    std::size_t with_data = 0;
    for (double v : all->values[0]) with_data += !std::isnan(v);
    CHECK(with_data == 10);
    CHECK(std::isnan(all->values[0][0]));
    CHECK(all->values[0].back() == doctest::Approx((1740 + 1795) / 2.0));
    auto fine = history.read(kHost, now - 59, now, 10);
    CHECK(fine->archive.step_seconds == 10);
    CHECK(fine->values[0].back() == doctest::Approx(1792.5));

    SUBCASE("a new series widens the file and keeps the rows before it") {
        history.record(kHost, double(now + 5), {{gauge("g"), 1.0}, {gauge("h"), 2.0}});
        history.flush();
        CHECK(std::filesystem::file_size(file) ==
              HistoryFile::file_bytes(small(dir.path()).archives,
                                      {MetricsHistory::file_column("", gauge("g")),
                                       MetricsHistory::file_column("", gauge("h"))}));
        auto a = history.read(kHost, now - 600, now + 5, 60);
        REQUIRE(a->series.size() == 2);
        CHECK(a->values[0][a->times.size() - 2] == doctest::Approx((1740 + 1795) / 2.0));
        CHECK(a->values[1].back() == doctest::Approx(2));
    }
    SUBCASE("at most 128 series an entity; the rest are counted, not kept") {
        std::vector<Sample> many;
        for (int i = 0; i < 140; ++i) many.push_back({gauge("s" + std::to_string(i)), 1.0});
        history.record(kHost, double(now + 5), many);
        history.flush();
        auto opened = HistoryFile::open(file, false);
        REQUIRE(opened);
        CHECK((*opened)->columns().size() == kMaxHistoryColumns);
        CHECK(history.counts().series_dropped == 13);  // "g" and 127 of the 140 kept
    }
    SUBCASE("files silent for longer than the longest archive are swept") {
        history.record(Entity{EntityKind::vm, "web/1"}, double(kT0), {{gauge("g"), 1.0}});
        history.flush();
        CHECK(std::filesystem::exists(history.file_of({EntityKind::vm, "web/1"})));
        CHECK(history.file_of({EntityKind::vm, "web/1"}).filename() == "web%2F1.hist");
        CHECK(history.sweep() == 0);
        clock.advance(std::chrono::minutes(11));
        CHECK(history.sweep() == 2);
        CHECK_FALSE(std::filesystem::exists(file));
        CHECK(history.latest(EntityKind::host).empty());
        // Its next report starts a new file.
        history.record(kHost, double(now + 5), {{gauge("g"), 1.0}});
        history.flush();
        CHECK(std::filesystem::exists(file));
    }
}

TEST_CASE("metrics history: a full queue drops the oldest reports and counts them") {
    testutil::TempDir dir;
    base::FakeClock clock;
    HistoryOptions o = small(dir.path());
    o.max_queue = 1;
    MetricsHistory history(o, clock);
    for (int i = 0; i < 2000; ++i) history.record(kHost, double(kT0 + i), {{gauge("g"), 1.0}});
    history.flush();
    const auto counts = history.counts();
    CHECK(counts.recorded + counts.dropped == 2000);
    CHECK(counts.errors == 0);
}

TEST_CASE("history archives option") {
    auto a = parse_archives("15s:24h,5m:30d");
    REQUIRE(a);
    CHECK(*a == std::vector<ArchiveSpec>{{15, 5760}, {300, 8640}});
    CHECK(archives_text(*a) == "15s:1d,5m:30d");
    CHECK_FALSE(parse_archives(""));
    CHECK_FALSE(parse_archives("15s"));
    CHECK_FALSE(parse_archives("7s:1m"));            // not a multiple
    CHECK_FALSE(parse_archives("5m:30d,15s:24h"));   // coarsest first
    CHECK_FALSE(parse_archives("15s:24h,20s:48h"));  // not a multiple of the finer step
}

TEST_CASE("host samples: node_exporter's names, counters marked") {
    wire::HostMetrics m;
    m.cpu_seconds = {{"user", 10}, {"idle", 90}};
    m.memory_total_bytes = 1 << 30;
    m.network = {{"eth0", 1, 2, 3, 4}};
    SeriesShapes shapes;
    auto samples = host_samples(m, shapes);
    int counters = 0;
    for (const Series& s : *samples.series) counters += s.kind == SeriesKind::counter;
    CHECK(counters == 6);  // 2 CPU modes, 4 network counters
    CHECK(samples.size() == 2 + 6 + 3 + 4);
    CHECK(samples.series->size() == samples.size());
    CHECK(display_name((*samples.series)[0]) == "node_cpu_seconds_total{mode=\"idle\"}");
    CHECK(samples.values[0] == 90);
    CHECK(host_samples(m, shapes).series == samples.series);
    m.network.push_back({"eth1", 1, 2, 3, 4});
    CHECK(host_samples(m, shapes).series != samples.series);
}

TEST_CASE("GET /api/v1/hosts/{host}/metrics and /api/v1/vms/{vm}/metrics") {
    servertest::Server s;
    const Host h1 = servertest::add_test_host(*s.store, "h1", 1);
    s.ctx->history = std::make_shared<MetricsHistory>(
        HistoryOptions{s.dir / "history", {{15, 5760}, {300, 8640}}, 100, 0, {}}, base::real_clock());
    const std::int64_t now = s.store->now() / 1000;
    for (int i = 4; i >= 1; --i)
        s.ctx->history->record(
            {EntityKind::host, std::to_string(h1.id)}, double(now - 15 * i),
            {{gauge("node_load1"), double(i)},
             {counter("node_cpu_seconds_total", {{"mode", "user"}}), double(100 - 15 * i)}});
    s.ctx->history->record({EntityKind::vm, "v1"}, double(now), {{gauge("g"), 2.0}});
    s.ctx->history->flush();
    using servertest::bhttp::verb;

    auto a = s.call_json(verb::get, "/api/v1/hosts/h1/metrics?since=10m&step=15");
    REQUIRE(s.last_status == 200);
    CHECK(a["host"] == "h1");
    CHECK(a["step"] == 15);
    CHECK(a["archive"] == servertest::json{{"step", 15}, {"retention", 86400}});
    CHECK(a["times"].size() == a["series"][0]["values"].size());
    CHECK(a["times"].size() >= 40);
    std::vector<double> loads, rates;
    for (const auto& series : a["series"]) {
        for (const auto& v : series["values"])
            if (!v.is_null()) (series["name"] == "node_load1" ? loads : rates).push_back(v);
        if (series["name"] == "node_cpu_seconds_total") {
            CHECK(series["labels"] == servertest::json{{"mode", "user"}});
            CHECK(series["kind"] == "rate");
        }
    }
    CHECK(loads == std::vector<double>{4, 3, 2, 1});
    CHECK(rates == std::vector<double>{1, 1, 1});  // 15 CPU seconds each 15 s

    // By id too; a VM's history.
    s.call_json(verb::get, "/api/v1/hosts/" + std::to_string(h1.id) + "/metrics");
    CHECK(s.last_status == 200);
    auto v = s.call_json(verb::get, "/api/v1/vms/v1/metrics?since=" + std::to_string(now - 60));
    CHECK(s.last_status == 200);
    CHECK(v["vm"] == "v1");
    // Latest values, for top.
    auto latest = s.call_json(verb::get, "/api/v1/metrics/latest");
    CHECK(s.last_status == 200);
    REQUIRE(latest["hosts"].size() == 1);
    CHECK(latest["hosts"][0]["host"] == "h1");
    CHECK(latest["vms"][0]["vm"] == "v1");

    // Refused: bad since or step (400), unknown host (404), no history yet (404), no token.
    for (const char* q :
         {"?since=abc", "?since=-1h", "?step=0", "?step=fast", "?since=99999999999"}) {
        auto e = s.call_json(verb::get, std::string("/api/v1/hosts/h1/metrics") + q);
        CHECK_MESSAGE(s.last_status == 400, q);
        CHECK(e["error"]["code"] == "invalid_argument");
    }
    s.call_json(verb::get, "/api/v1/hosts/nope/metrics");
    CHECK(s.last_status == 404);
    servertest::add_test_host(*s.store, "h2", 2);
    auto none = s.call_json(verb::get, "/api/v1/hosts/h2/metrics");
    CHECK(s.last_status == 404);
    CHECK(none["error"]["message"] == "no metrics recorded for host h2 yet");
    s.call_json(verb::get, "/api/v1/vms/v2/metrics");
    CHECK(s.last_status == 404);
    s.call_json(verb::get, "/api/v1/hosts/h1/metrics", "", "");
    CHECK(s.last_status == 401);

    // A host removed loses its history (its id may be given to another host).
    const auto file = s.ctx->history->file_of({EntityKind::host, std::to_string(h1.id)});
    CHECK(std::filesystem::exists(file));
    s.call_json(verb::delete_, "/api/v1/hosts/h1");
    REQUIRE(s.last_status == 200);
    s.ctx->history->flush();
    CHECK_FALSE(std::filesystem::exists(file));
    CHECK(s.ctx->history->latest(EntityKind::host).empty());
}

TEST_CASE("metrics history: reports of shared shapes map to the entity's columns as they grow") {
    testutil::TempDir dir;
    base::FakeClock clock;
    MetricsHistory history(small(dir.path()), clock);
    SeriesShapes& shapes = history.shapes();
    wire::HostMetrics m;
    m.cpu_seconds = {{"user", 10}};
    m.load1 = 1;
    history.record(kHost, double(kT0), host_samples(m, shapes));
    // eth0 appears: the file widens; then a report of the first shape again (its pointer was
    // mapped to the narrower columns) and one of the wider shape.
    m.network = {{"eth0", 100, 0, 0, 0}};
    m.cpu_seconds["user"] = 20;
    m.load1 = 2;
    history.record(kHost, double(kT0 + 10), host_samples(m, shapes));
    m.network.clear();
    m.cpu_seconds["user"] = 40;
    m.load1 = 3;
    history.record(kHost, double(kT0 + 20), host_samples(m, shapes));
    m.network = {{"eth0", 300, 0, 0, 0}};
    m.cpu_seconds["user"] = 50;
    m.load1 = 4;
    history.record(kHost, double(kT0 + 30), host_samples(m, shapes));
    history.flush();
    CHECK(shapes.size() == 2);
    auto a = history.read(kHost, kT0, kT0 + 35, 10);
    REQUIRE(a);
    const std::size_t load = column(*a, "node_load1");
    const std::size_t user = column(*a, "node_cpu_seconds_total", {{"mode", "user"}});
    const std::size_t rx = column(*a, "node_network_receive_bytes_total", {{"device", "eth0"}});
    auto at = [&](std::size_t series, std::int64_t t) {  // the point of time kT0 + t
        for (std::size_t i = 0; i < a->times.size(); ++i)
            if (a->times[i] == kT0 + t) return a->values[series][i];
        FAIL("no point at " << t);
        return 0.0;
    };
    CHECK(at(load, 0) == 1);
    CHECK(at(load, 10) == 2);
    CHECK(at(load, 20) == 3);
    CHECK(at(load, 30) == 4);
    CHECK(at(user, 10) == doctest::Approx(1.0));  // (20 - 10) / 10 s
    CHECK(at(user, 20) == doctest::Approx(2.0));
    CHECK(at(user, 30) == doctest::Approx(1.0));
    CHECK(std::isnan(at(rx, 20)));                // not in that report
    CHECK(at(rx, 30) == doctest::Approx(10.0));   // (300 - 100) / 20 s
}
