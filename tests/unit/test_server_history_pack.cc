// The metrics history's files per host (metrics_history.h): a host's file holds its VMs' rows,
// a VM that moves is read from both hosts' files, a VM that left is dropped once its rows have
// aged out, the bound on a file's columns, the previous layout discarded, and damaged files.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "base/clock.h"
#include "history_file.h"
#include "history_index.h"
#include "metrics_history.h"
#include "test_history_fixture.h"
#include "test_util.h"

using namespace provisioner;
using namespace provisioner::server;

namespace {

using historytest::counter;
using historytest::gauge;
using historytest::kT0;
using historytest::small;

SampleSet samples(MetricsHistory& history, std::vector<Sample> list) {
    std::vector<Series> series;
    SampleSet set;
    for (Sample& s : list) {
        series.push_back(s.series);
        set.values.push_back(s.value);
    }
    set.series = history.shapes().intern(std::move(series));
    return set;
}

// host's report at t: its load and each VM's memory.
void report(MetricsHistory& history, const std::string& host, std::int64_t t, double load,
            const std::vector<std::pair<std::string, double>>& vms) {
    std::vector<VmSamples> list;
    for (const auto& [name, memory] : vms)
        list.push_back({name, samples(history, {{gauge("libvirt_domain_memory_bytes"), memory}})});
    history.record_report(host, double(t), samples(history, {{gauge("node_load1"), load}}),
                          std::move(list));
}

// The values of entity's only series in [since, now] at step 10, NaN left out.
std::vector<double> points(MetricsHistory& history, const Entity& entity, std::int64_t since,
                           std::int64_t now) {
    auto a = history.read(entity, since, now, 10);
    REQUIRE(a);
    REQUIRE(a->series.size() == 1);
    std::vector<double> out;
    for (double v : a->values[0])
        if (!std::isnan(v)) out.push_back(v);
    return out;
}

std::size_t files_under(const std::filesystem::path& dir) {
    std::size_t n = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
        n += e.is_regular_file() && e.path().extension() == ".hist";
    return n;
}

std::set<std::string> members(const std::filesystem::path& file) {
    auto opened = HistoryFile::open(file, false);
    REQUIRE(opened);
    std::set<std::string> out;
    for (const Series& c : (*opened)->columns()) {
        REQUIRE(!c.labels.empty());
        CHECK(c.labels[0].first.empty());
        out.insert(c.labels[0].second);
    }
    return out;
}

}  // namespace

TEST_CASE("metrics history: a host's file holds its VMs' rows; each read as its own") {
    testutil::TempDir dir;
    base::FakeClock clock;
    MetricsHistory history(small(dir.path()), clock);
    for (int i = 0; i < 3; ++i)
        report(history, "7", kT0 + 10 * i, 1 + i, {{"web", 100.0 + i}, {"db/1", 200.0 + i}});
    history.flush();
    CHECK(history.counts().recorded == 9);
    CHECK(files_under(dir.path()) == 1);  // one file, not three
    const auto file = history.file_of({EntityKind::host, "7"});
    CHECK(file == dir.path() / "by-host" / "7.hist");
    CHECK(history.file_of({EntityKind::vm, "web"}) == file);
    CHECK(members(file) == std::set<std::string>{"", "web", "db/1"});
    CHECK(points(history, {EntityKind::host, "7"}, kT0, kT0 + 25) == std::vector<double>{1, 2, 3});
    CHECK(points(history, {EntityKind::vm, "web"}, kT0, kT0 + 25) ==
          std::vector<double>{100, 101, 102});
    CHECK(points(history, {EntityKind::vm, "db/1"}, kT0, kT0 + 25) ==
          std::vector<double>{200, 201, 202});
    CHECK(history.read({EntityKind::vm, "nope"}, kT0, kT0 + 25, 10).status().code() ==
          Code::not_found);
    // A VM that appears widens the file once; the rows before it stay.
    report(history, "7", kT0 + 30, 4, {{"web", 103}, {"db/1", 203}, {"new", 1}});
    history.flush();
    CHECK(members(file) == std::set<std::string>{"", "web", "db/1", "new"});
    CHECK(points(history, {EntityKind::vm, "web"}, kT0, kT0 + 35) ==
          std::vector<double>{100, 101, 102, 103});
    CHECK(points(history, {EntityKind::vm, "new"}, kT0, kT0 + 35) == std::vector<double>{1});
    const auto latest = history.latest(EntityKind::vm);
    CHECK(latest.size() == 3);
}

TEST_CASE("metrics history: a VM that moves is read from both hosts; one that left is dropped") {
    testutil::TempDir dir;
    base::FakeClock clock;
    {
        MetricsHistory history(small(dir.path()), clock);
        report(history, "1", kT0, 1, {{"mover", 10}, {"stays", 50}});
        report(history, "1", kT0 + 10, 1, {{"mover", 11}, {"stays", 50}});
        report(history, "2", kT0 + 20, 2, {{"mover", 12}});
        report(history, "2", kT0 + 30, 2, {{"mover", 13}});
        history.flush();
        CHECK(history.file_of({EntityKind::vm, "mover"}) == dir.path() / "by-host" / "2.hist");
        CHECK(points(history, {EntityKind::vm, "mover"}, kT0, kT0 + 35) ==
              std::vector<double>{10, 11, 12, 13});
    }
    // After a restart the index still finds both files.
    MetricsHistory history(small(dir.path()), clock);
    CHECK(points(history, {EntityKind::vm, "mover"}, kT0, kT0 + 35) ==
          std::vector<double>{10, 11, 12, 13});
    // Host 1 goes on without it for longer than its coarsest archive keeps (10 min), then a
    // VM appears there: the file is widened, and the mover's columns are gone from it.
    for (std::int64_t t = 20; t < 700; t += 10) report(history, "1", kT0 + t, 1, {{"stays", 50}});
    history.flush();
    CHECK(members(dir.path() / "by-host" / "1.hist").count("mover") == 1);
    report(history, "1", kT0 + 700, 1, {{"stays", 50}, {"fresh", 5}});
    history.flush();
    CHECK(members(dir.path() / "by-host" / "1.hist") ==
          std::set<std::string>{"", "stays", "fresh"});
    CHECK(history.counts().errors == 0);
    // Its rows on host 2 are still read (host 2 reported it twice in the first minute).
    auto a = history.read({EntityKind::vm, "mover"}, kT0, kT0 + 590, 60);
    REQUIRE(a);
    CHECK(a->values[0][0] == doctest::Approx(12.5));
}

TEST_CASE("metrics history: at most kMaxHistoryFileColumns columns a file; the rest counted") {
    testutil::TempDir dir;
    base::FakeClock clock;
    MetricsHistory history(small(dir.path()), clock);
    std::vector<Sample> many;
    for (int i = 0; i < 100; ++i) many.push_back({gauge("s" + std::to_string(i)), 1.0});
    std::vector<VmSamples> vms;
    for (int v = 0; v < 45; ++v)  // 4,500 series
        vms.push_back({"vm" + std::to_string(v), samples(history, many)});
    history.record_report("1", double(kT0), SampleSet{}, std::move(vms));
    history.flush();
    auto opened = HistoryFile::open(history.file_of({EntityKind::host, "1"}), false);
    REQUIRE(opened);
    CHECK((*opened)->columns().size() == kMaxHistoryFileColumns);
    CHECK(history.counts().series_dropped == 4500 - kMaxHistoryFileColumns);
    CHECK(history.counts().recorded == 45);
}

TEST_CASE("metrics history: the previous layout's files are deleted at start, and counted") {
    testutil::TempDir dir;
    std::filesystem::create_directories(dir / "hosts");
    std::filesystem::create_directories(dir / "vms");
    REQUIRE(HistoryFile::create(dir / "hosts" / "1.hist", {{10, 6}}, {gauge("g")}));
    REQUIRE(HistoryFile::create(dir / "vms" / "web.hist", {{10, 6}}, {gauge("g")}));
    base::FakeClock clock;
    std::vector<std::string> logged;
    HistoryOptions options = small(dir.path());
    options.log = [&logged](const std::string& line) { logged.push_back(line); };
    MetricsHistory history(options, clock);
    report(history, "1", kT0, 1, {});
    history.flush();
    CHECK(history.counts().discarded == 4);  // two files and their directories
    CHECK_FALSE(std::filesystem::exists(dir / "hosts"));
    CHECK_FALSE(std::filesystem::exists(dir / "vms"));
    REQUIRE(logged.size() == 1);
    CHECK(logged[0].find("not migrated") != std::string::npos);
    CHECK(points(history, {EntityKind::host, "1"}, kT0, kT0 + 5) == std::vector<double>{1});
}

TEST_CASE("metrics history: a damaged file is a clear error; the rest of the history is kept") {
    testutil::TempDir dir;
    base::FakeClock clock;
    {
        MetricsHistory history(small(dir.path()), clock);
        report(history, "1", kT0, 1, {{"a", 10}});
        report(history, "2", kT0, 2, {{"b", 20}});
        report(history, "2", kT0 + 10, 2, {{"a", 11}});  // a moved to host 2
        history.flush();
    }
    const auto one = dir / "by-host" / "1.hist";
    SUBCASE("truncated") {
        std::filesystem::resize_file(one, std::filesystem::file_size(one) - 100);
    }
    SUBCASE("not a history file") {
        std::ofstream(one, std::ios::trunc) << "garbage";
    }
    std::vector<std::string> logged;
    HistoryOptions options = small(dir.path());
    options.log = [&logged](const std::string& line) { logged.push_back(line); };
    MetricsHistory history(options, clock);
    auto bad = history.read({EntityKind::host, "1"}, kT0, kT0 + 15, 10);
    REQUIRE_FALSE(bad);
    CHECK(bad.status().code() == Code::storage);
    CHECK(bad.status().message().find(one.string()) != std::string::npos);
    // Host 2 and its VMs, and a's rows on host 2, are still read.
    CHECK(points(history, {EntityKind::host, "2"}, kT0, kT0 + 15) == std::vector<double>{2, 2});
    CHECK(points(history, {EntityKind::vm, "b"}, kT0, kT0 + 15) == std::vector<double>{20});
    CHECK(points(history, {EntityKind::vm, "a"}, kT0, kT0 + 15) == std::vector<double>{11});
    // Host 1's next report makes its file again (its old rows lost, and said).
    report(history, "1", kT0 + 20, 3, {});
    history.flush();
    CHECK(history.counts().errors == 0);
    CHECK(points(history, {EntityKind::host, "1"}, kT0, kT0 + 25) == std::vector<double>{3});
    REQUIRE(logged.size() == 1);
    CHECK(logged[0].find("made again") != std::string::npos);
}

TEST_CASE("history index: lines appended once; repeated, damaged and gone files left out") {
    testutil::TempDir dir;
    const auto path = dir / "vms.index";
    {
        std::ofstream out(path);
        out << "a\tby-host/1\na\tby-host/1\na\tby-host/2\nno tab here\n\tby-host/1\nb\tby-host/9\n";
        for (int i = 0; i < 100; ++i) out << "a\tby-host/1\n";
        out << "c\tby-host/3";  // a line cut short by a crash, without its newline
    }
    auto exists = [](const std::string& file) { return file != "by-host/9"; };
    {
        HistoryIndex index(path, exists);
        CHECK(index.files_of("a") == std::vector<std::string>{"by-host/1", "by-host/2"});
        CHECK(index.files_of("b").empty());  // its file is gone
        CHECK(index.files_of("c") == std::vector<std::string>{"by-host/3"});
        index.add("d", "by-host/1");
        index.add("d", "by-host/1");
        index.add("a", "by-host/4");
    }
    std::ifstream in(path);
    std::size_t lines = 0;
    for (std::string line; std::getline(in, line);) ++lines;
    CHECK(lines == 5);  // rewritten without the 100 repeats: a x2, c, then d, a appended
    HistoryIndex again(path, exists);
    CHECK(again.files_of("a") ==
          std::vector<std::string>{"by-host/1", "by-host/2", "by-host/4"});
    CHECK(again.files_of("d") == std::vector<std::string>{"by-host/1"});
    // Appending after a line cut short: the new line stays whole.
    std::ofstream(path, std::ios::app) << "e\tby-host/5";
    {
        HistoryIndex index(path, exists);
        index.add("f", "by-host/6");
    }
    HistoryIndex third(path, exists);
    CHECK(third.files_of("e") == std::vector<std::string>{"by-host/5"});
    CHECK(third.files_of("f") == std::vector<std::string>{"by-host/6"});
}
