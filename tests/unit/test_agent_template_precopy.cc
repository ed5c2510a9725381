// The Dom0 agent's pre-copy of hot templates and disposal of cold ones: the hot list as the
// server answers it, the basis a pre-copy starts from, the refusal of a file that does not
// match its record, backing first, no second fetch of a template in flight, and disposal that
// spares the hot list. The imaging tool is a fake that writes the template's bytes.
#include <doctest/doctest.h>

#include <atomic>
#include <fstream>
#include <future>
#include <map>
#include <thread>

#include "base/clock.h"
#include "imaging/digest.h"
#include "provisioner/agent/template_worker.h"
#include "provisioner/vmhost/process.h"
#include "test_util.h"

using namespace provisioner;
using namespace provisioner::agent;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string sha256_of(const std::string& bytes) {
    const auto* raw = reinterpret_cast<const std::uint8_t*>(bytes.data());
    return imaging::to_hex(imaging::sha256({raw, bytes.size()}));
}

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool have_qemu_img() {
    static const bool present =
        vmhost::make_process_runner()->run({"qemu-img", "--version"}).is_ok();
    if (!present) MESSAGE("qemu-img is not installed: skipped");
    return present;
}

// `imaging receive` that writes served[--from] to --output, noting what --output held before.
struct FakeImaging : ImagingRunner {
    std::map<std::string, std::string> served;  // delta address -> the bytes it hands out
    std::vector<std::string> held_before;       // per run: the output's bytes before it
    std::vector<std::string> secrets;           // per run: its --secret-file's text, if 0600
    std::vector<std::vector<std::string>> runs;
    std::function<void()> during;  // called as a run starts (tests hold it there)
    ImagingOutcome run(const std::vector<std::string>& argv, const ProgressFunction&) override {
        runs.push_back(argv);
        if (during) during();
        auto arg = [&](const std::string& flag) {
            for (std::size_t i = 0; i + 1 < argv.size(); ++i)
                if (argv[i] == flag) return argv[i + 1];
            return std::string();
        };
        const fs::path output = arg("--output");
        held_before.push_back(fs::exists(output) ? read(output) : "");
        const fs::path secret = arg("--secret-file");
        const bool private_file =
            !secret.empty() && (fs::status(secret).permissions() & fs::perms::all) ==
                                   (fs::perms::owner_read | fs::perms::owner_write);
        secrets.push_back(private_file ? read(secret) : "");
        ImagingOutcome out;
        auto bytes = served.find(arg("--from"));
        if (bytes == served.end()) {
            out.exit_status = 1;
            out.last_error_line = "connection refused";
            return out;
        }
        std::ofstream(output, std::ios::binary) << bytes->second;
        out.exit_status = 0;
        out.result = json{{"ok", true}, {"bytes_received", 7}, {"bytes_reused", 3}};
        return out;
    }
};

HotTemplate hot(const std::string& name, const std::string& version, const std::string& bytes,
                const std::string& delta) {
    HotTemplate t;
    t.name = name;
    t.version = version;
    t.format = "raw";
    t.size = bytes.size();
    t.sha256 = sha256_of(bytes);
    t.delta = delta;
    t.secret = std::string(64, '5');
    return t;
}

// A hot list with a cool-down of ten minutes.
HotTemplates hot_list(std::vector<HotTemplate> hot, std::string pubkey_pem = "") {
    return {std::move(hot), std::chrono::seconds(600), std::move(pubkey_pem)};
}

struct Fixture {
    testutil::TempDir tmp;
    std::unique_ptr<vmhost::ProcessRunner> runner = vmhost::make_process_runner();
    std::unique_ptr<vmhost::TemplateStore> store;
    FakeImaging imaging;
    std::vector<std::string> lines;
    std::unique_ptr<TemplateWorker> worker;

    // pinned: the worker has a --pubkey (TMP/site.pub); else it keeps the hot list's key in
    // TMP/disks/site.pub.
    explicit Fixture(bool pinned = true) {
        vmhost::TemplateStoreOptions options;
        options.runner = runner.get();
        auto s = vmhost::TemplateStore::open(tmp / "templates", options);
        REQUIRE_MESSAGE(s.is_ok(), s.status().message());
        store = std::move(*s);
        fs::create_directories(tmp / "disks");
        TemplateWorkerOptions w;
        w.tools = {"imaging", pinned ? (tmp / "site.pub").string() : "", &imaging, runner.get()};
        w.received_key_file = tmp / "disks/site.pub";
        w.retry_min = std::chrono::milliseconds(60'000);
        w.log = [this](const std::string& line) { lines.push_back(line); };
        worker = std::make_unique<TemplateWorker>(*store, w);
    }
    void add_raw(const std::string& name, const std::string& version, const std::string& bytes) {
        const fs::path file = tmp / (name + version + ".in");
        std::ofstream(file, std::ios::binary) << bytes;
        auto added = store->add({name, version, {}, "", "raw"}, file, vmhost::AddMode::move);
        REQUIRE_MESSAGE(added.is_ok(), added.status().message());
    }
    bool holds(const std::string& id) { return store->resolve(id).is_ok(); }
    // The store again, on a clock the test moves. f.worker keeps the first store: a test that
    // reopens makes its own worker.
    void reopen_store_with_clock(base::FakeClock& clock) {
        vmhost::TemplateStoreOptions options;
        options.runner = runner.get();
        options.clock = &clock;
        auto later = vmhost::TemplateStore::open(tmp / "templates", options);
        REQUIRE(later.is_ok());
        store = std::move(*later);
    }
};

}  // namespace

TEST_CASE("agent templates: the hot list as the server answers it") {
    const std::string sha(64, 'b');
    json answer = {{"hot",
                    {{{"template", "debian@1"},
                      {"size", 10},
                      {"sha256", sha},
                      {"format", "raw"},
                      {"backing", nullptr},
                      {"delta", "10.0.0.1:9001"},
                      {"secret", std::string(64, '1')}},
                     {{"template", "web@2"},
                      {"size", 20},
                      {"sha256", sha},
                      {"format", "qcow2"},
                      {"labels", {"web"}},
                      {"backing", "debian@1"},
                      {"delta", "10.0.0.1:9002"},
                      {"secret", std::string(64, '2')}}}},
                   {"cool_down", 600}};
    auto parsed = parse_hot_templates(answer);
    REQUIRE_MESSAGE(parsed.is_ok(), parsed.status().message());
    CHECK(parsed->cool_down == std::chrono::seconds(600));
    REQUIRE(parsed->hot.size() == 2);
    CHECK(parsed->hot[0].id() == "debian@1");
    CHECK(parsed->hot[0].backing.empty());
    CHECK(parsed->hot[1].backing == "debian@1");
    CHECK(parsed->hot[1].labels == std::vector<std::string>{"web"});
    CHECK(parsed->hot[1].delta == "10.0.0.1:9002");
    CHECK(parsed->hot[1].secret == std::string(64, '2'));

    json bad = answer;
    bad["hot"][1]["template"] = "web";
    CHECK(parse_hot_templates(bad).status().message().find("NAME@VERSION") != std::string::npos);
    bad = answer;
    bad["hot"][0].erase("sha256");
    CHECK_FALSE(parse_hot_templates(bad).is_ok());
    // A delta server is pre-copied from only with its secret.
    for (const json& secret : {json(nullptr), json("abc"), json(std::string(64, 'x'))}) {
        bad = answer;
        bad["hot"][1]["secret"] = secret;
        CHECK(parse_hot_templates(bad).status().message().find("\"secret\" is not 64 hex") !=
              std::string::npos);
    }
    CHECK_FALSE(parse_hot_templates(json{{"hot", json::array()}}).is_ok());  // no cool_down

    json unserved = answer;  // web@2's server does not listen yet: listed, no address
    unserved["hot"][1]["delta"] = nullptr;
    unserved["hot"][1]["secret"] = nullptr;
    auto waiting = parse_hot_templates(unserved);
    REQUIRE(waiting.is_ok());
    CHECK(waiting->hot[1].delta.empty());
    unserved["hot"][1].erase("delta");
    CHECK_FALSE(parse_hot_templates(unserved).is_ok());

    CHECK(parsed->pubkey_pem.empty());  // an answer without the server's key
    const std::string pem =
        "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n";
    json keyed = answer;
    keyed["pubkey"] = pem;
    CHECK(parse_hot_templates(keyed)->pubkey_pem == pem);
    for (const json& wrong : {json(42), json("not a key"), json("-----BEGIN PRIVATE KEY-----\n")}) {
        keyed["pubkey"] = wrong;
        CHECK(parse_hot_templates(keyed).status().message().find("not a PEM public key") !=
              std::string::npos);
    }
}

TEST_CASE("agent templates: the basis is the newest older version of the name, same format") {
    auto info = [](const std::string& name, const std::string& version, const std::string& f) {
        vmhost::TemplateInfo t;
        t.name = name;
        t.version = version;
        t.format = f;
        return t;
    };
    std::vector<vmhost::TemplateInfo> held = {info("web", "1", "qcow2"), info("web", "9", "qcow2"),
                                              info("web", "10", "raw"), info("web", "12", "qcow2"),
                                              info("db", "3", "qcow2")};
    HotTemplate t = hot("web", "11", "x", "a:1");
    t.format = "qcow2";
    CHECK(choose_basis(held, t)->id() == "web@9");  // not web@12 (newer), not web@10 (raw)
    t.format = "raw";
    CHECK(choose_basis(held, t)->id() == "web@10");
    t.version = "10";
    CHECK_FALSE(choose_basis(held, t).has_value());
    t.name = "centos";
    CHECK_FALSE(choose_basis(held, t).has_value());
}

TEST_CASE("agent templates: nothing is received from a delta server without its secret") {
    testutil::TempDir tmp;
    FakeImaging imaging;
    HotTemplate t = hot("a", "1", "hello", "10.0.0.1:9001");
    imaging.served[t.delta] = "hello";
    t.secret.clear();
    auto received = receive_template(t, tmp / "a@1.raw", std::nullopt, {"imaging", "k", &imaging});
    CHECK(received.status().message().find("no secret for its delta server") != std::string::npos);
    CHECK(imaging.runs.empty());
    CHECK_FALSE(fs::exists(tmp / "a@1.raw"));
}

TEST_CASE("agent templates: a received file is checked against its size and SHA-256") {
    testutil::TempDir tmp;
    std::ofstream(tmp / "f", std::ios::binary) << "hello";
    HotTemplate t = hot("a", "1", "hello", "x:1");
    CHECK(check_precopied(tmp / "f", t));
    t.sha256 = sha256_of("jello");
    CHECK(check_precopied(tmp / "f", t).message().find("SHA-256") != std::string::npos);
    t.size = 6;
    CHECK(check_precopied(tmp / "f", t).message().find("received 5 bytes") != std::string::npos);
}

TEST_CASE("agent templates: pre-copy starts from the older version, and lands in the store") {
    if (!have_qemu_img()) return;
    Fixture f;
    f.add_raw("web", "1", "version one bytes");
    const std::string v2 = "version two bytes, longer";
    f.imaging.served["10.0.0.1:9002"] = v2;
    f.worker->update(hot_list({hot("web", "2", v2, "10.0.0.1:9002")}));
    CHECK(f.worker->precopy_next());
    REQUIRE(f.imaging.runs.size() == 1);
    CHECK(f.imaging.held_before[0] == "version one bytes");  // the basis, copied to the output
    CHECK(f.imaging.runs[0] ==
          std::vector<std::string>{"imaging", "receive", "--transport", "delta", "--from",
                                   "10.0.0.1:9002", "--output",
                                   (f.tmp / "templates/.precopy/web@2.raw").string(), "--pubkey",
                                   (f.tmp / "site.pub").string(), "--secret-file",
                                   (f.tmp / "templates/.precopy/web@2.raw.secret").string(),
                                   "--progress-json"});
    CHECK(f.imaging.secrets[0] == std::string(64, '5') + "\n");  // 0600, the list's secret
    CHECK_FALSE(fs::exists(f.tmp / "templates/.precopy/web@2.raw.secret"));
    REQUIRE(f.holds("web@2"));
    CHECK(read(f.store->path_of(*f.store->resolve("web@2"))) == v2);
    CHECK_FALSE(fs::exists(f.tmp / "templates/.precopy/web@2.raw"));
    CHECK(f.lines.back().find("pre-copied template web@2: 7 bytes received, 3 reused") !=
          std::string::npos);
    CHECK_FALSE(f.worker->precopy_next());  // nothing left to do
}

TEST_CASE("agent templates: a start removes what an interrupted pre-copy left") {
    if (!have_qemu_img()) return;
    Fixture f;
    fs::create_directories(f.tmp / "templates/.precopy");
    std::ofstream(f.tmp / "templates/.precopy/old@1.raw") << "half a template";
    f.worker->start();
    CHECK_FALSE(fs::exists(f.tmp / "templates/.precopy/old@1.raw"));
    REQUIRE_FALSE(f.lines.empty());
    CHECK(f.lines.front().find("left by an interrupted pre-copy") != std::string::npos);
}

TEST_CASE("agent templates: a file whose SHA-256 does not match is refused and tried later") {
    if (!have_qemu_img()) return;
    Fixture f;
    HotTemplate t = hot("web", "2", "the right bytes", "10.0.0.1:9002");
    f.imaging.served["10.0.0.1:9002"] = "the wrong bytes";
    f.worker->update(hot_list({t}));
    CHECK(f.worker->precopy_next());
    CHECK_FALSE(f.holds("web@2"));
    CHECK_FALSE(fs::exists(f.tmp / "templates/.precopy/web@2.raw"));
    CHECK(f.lines.back().find("SHA-256") != std::string::npos);
    CHECK(f.lines.back().find("trying again later") != std::string::npos);
    CHECK_FALSE(f.worker->precopy_next());  // backing off
    CHECK(f.imaging.runs.size() == 1);
}

TEST_CASE("agent templates: backing first; a create waits for the pre-copy in flight") {
    if (!have_qemu_img()) return;
    Fixture f;
    HotTemplate child = hot("app", "1", "app", "10.0.0.1:9003");
    child.backing = "base@1";
    const std::string base_bytes = "base bytes";
    f.worker->update(hot_list({child, hot("base", "1", base_bytes, "10.0.0.1:9001")}));
    f.imaging.served["10.0.0.1:9001"] = base_bytes;
    CHECK(f.worker->precopy_next());  // base@1, though listed second: app@1 needs it first
    CHECK(f.holds("base@1"));
    REQUIRE(f.imaging.runs.size() == 1);
    CHECK(f.imaging.runs[0][5] == "10.0.0.1:9001");

    // While solo@1 is received, a create on it, or on a template over it, waits; others not.
    HotTemplate top = hot("top", "1", "top", "10.0.0.1:9005");
    top.backing = "solo@1";
    f.worker->update(hot_list({hot("base", "1", base_bytes, "10.0.0.1:9001"),
                               hot("solo", "1", "solo", "10.0.0.1:9004"), top}));
    std::promise<void> started, release;
    auto released = release.get_future().share();
    f.imaging.during = [&] {
        started.set_value();
        released.wait();
    };
    f.imaging.served["10.0.0.1:9004"] = "solo";
    std::thread precopy([&] { f.worker->precopy_next(); });
    started.get_future().wait();
    std::atomic<int> creates_after{0};
    auto create = [&](const std::string& ref) {
        return std::thread([&, ref] {
            auto lock = f.worker->lock_store(ref);
            creates_after += f.holds("solo@1");  // the pre-copy is in the store by then
        });
    };
    std::thread create_solo = create("solo@1"), create_top = create("top@1");
    {
        auto other = f.worker->lock_store("base@1");
        CHECK(other.owns_lock());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(creates_after.load() == 0);
    release.set_value();
    precopy.join();
    create_solo.join();
    create_top.join();
    CHECK(creates_after.load() == 2);
    CHECK(f.imaging.runs.size() == 2);
}

TEST_CASE("agent templates: disposal spares the hot list and waits for the first one") {
    if (!have_qemu_img()) return;
    Fixture f;
    base::FakeClock clock;
    f.reopen_store_with_clock(clock);
    f.add_raw("old", "1", "old");
    f.add_raw("hot", "1", "hot");
    clock.advance(std::chrono::hours(1));  // both an hour old, past a cool-down of ten minutes
    TemplateWorkerOptions w;
    w.log = [&](const std::string& line) { f.lines.push_back(line); };
    TemplateWorker worker(*f.store, w);
    CHECK(worker.dispose()->empty());  // no hot list yet: nothing known of the cool-down
    CHECK(f.holds("old@1"));
    worker.update(hot_list({hot("hot", "1", "hot", "x:1")}));
    auto removed = worker.dispose();
    REQUIRE(removed.is_ok());
    REQUIRE(removed->size() == 1);
    CHECK((*removed)[0].id() == "old@1");
    CHECK_FALSE(f.holds("old@1"));
    CHECK(f.holds("hot@1"));
    CHECK(f.lines.back().find("disposed of cold template old@1") != std::string::npos);
}

TEST_CASE("agent templates: without --pubkey the hot list's key is kept and pre-copy uses it") {
    if (!have_qemu_img()) return;
    Fixture f(false);
    const fs::path kept = f.tmp / "disks/site.pub";
    const std::string v1 = "version one", key1 = "-----BEGIN PUBLIC KEY-----\none\n";
    f.imaging.served["10.0.0.1:9001"] = v1;
    HotTemplates list = hot_list({hot("web", "1", v1, "10.0.0.1:9001")});
    f.worker->update(list);
    CHECK_FALSE(f.worker->precopy_next());  // no key yet: nothing to check a copy against
    CHECK(f.imaging.runs.empty());
    CHECK_FALSE(fs::exists(kept));

    list.pubkey_pem = key1;
    f.worker->update(list);
    CHECK(read(kept) == key1);
    CHECK(f.lines.back() == "the server's signing key is kept in " + kept.string());
    CHECK(f.worker->precopy_next());
    REQUIRE(f.imaging.runs.size() == 1);
    CHECK(f.imaging.runs[0][8] == "--pubkey");
    CHECK(f.imaging.runs[0][9] == kept.string());
    CHECK(f.holds("web@1"));

    // The same key again is not written again; a new one replaces it whole.
    const auto lines = f.lines.size();
    f.worker->update(list);
    CHECK(f.lines.size() == lines);
    list.pubkey_pem = "-----BEGIN PUBLIC KEY-----\ntwo\n";
    f.worker->update(list);
    CHECK(read(kept) == list.pubkey_pem);
    CHECK(f.lines.back().find("changed") != std::string::npos);
    for (const auto& entry : fs::directory_iterator(f.tmp / "disks"))
        CHECK(entry.path().filename() == "site.pub");  // no partial file left beside it
}

TEST_CASE("agent templates: a key that cannot be kept is logged once and no pre-copy starts") {
    if (!have_qemu_img()) return;
    Fixture f(false);
    fs::remove_all(f.tmp / "disks");  // the key's directory is gone
    const std::string v1 = "version one";
    f.imaging.served["10.0.0.1:9001"] = v1;
    HotTemplates list =
        hot_list({hot("web", "1", v1, "10.0.0.1:9001")}, "-----BEGIN PUBLIC KEY-----\none\n");
    f.worker->update(list);
    f.worker->update(list);
    REQUIRE(f.lines.size() == 1);
    CHECK(f.lines[0].find("keeping the server's signing key") != std::string::npos);
    CHECK_FALSE(f.worker->precopy_next());
    fs::create_directories(f.tmp / "disks");  // back: the next hot list keeps it
    f.worker->update(list);
    CHECK(fs::exists(f.tmp / "disks/site.pub"));
    CHECK(f.worker->precopy_next());
}

TEST_CASE("agent templates: a key pinned by --pubkey wins over the hot list's") {
    if (!have_qemu_img()) return;
    Fixture f;  // pinned: TMP/site.pub
    const std::string v1 = "version one";
    f.imaging.served["10.0.0.1:9001"] = v1;
    f.worker->update(
        hot_list({hot("web", "1", v1, "10.0.0.1:9001")}, "-----BEGIN PUBLIC KEY-----\nother\n"));
    CHECK_FALSE(fs::exists(f.tmp / "disks/site.pub"));
    CHECK(f.worker->precopy_next());
    REQUIRE(f.imaging.runs.size() == 1);
    CHECK(f.imaging.runs[0][8] == "--pubkey");
    CHECK(f.imaging.runs[0][9] == (f.tmp / "site.pub").string());
}

TEST_CASE("agent templates: a hot template whose server does not listen yet waits, and stays") {
    if (!have_qemu_img()) return;
    Fixture f;
    base::FakeClock clock;
    f.reopen_store_with_clock(clock);
    TemplateWorkerOptions w;
    w.tools = {"imaging", (f.tmp / "site.pub").string(), &f.imaging, f.runner.get()};
    TemplateWorker worker(*f.store, w);
    f.add_raw("old", "1", "old");
    clock.advance(std::chrono::hours(1));  // an hour old, past a cool-down of ten minutes
    const std::string v1 = "version one";
    HotTemplate waiting = hot("web", "1", v1, "");
    worker.update(hot_list({waiting, hot("old", "1", "old", "")}));
    CHECK_FALSE(worker.precopy_next());  // nowhere to copy web@1 from yet
    CHECK(f.imaging.runs.empty());
    auto removed = worker.dispose();  // old@1 is listed without a server: hot all the same
    REQUIRE(removed.is_ok());
    CHECK(removed->empty());
    CHECK(f.holds("old@1"));

    f.imaging.served["10.0.0.1:9001"] = v1;
    waiting.delta = "10.0.0.1:9001";  // the next answer: its server listens now
    worker.update(hot_list({waiting}));
    CHECK(worker.precopy_next());
    CHECK(f.holds("web@1"));
}
