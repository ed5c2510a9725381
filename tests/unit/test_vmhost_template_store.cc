// vmhost: the template store with the real qemu-img on tiny images: templates two levels
// deep, VM disks as overlays and as full copies, resolution by use, disposal of cold
// templates, and failures that leave nothing half made.
#include <doctest/doctest.h>

#include <algorithm>

#include "base/clock.h"
#include "provisioner/vmhost/qemu_img.h"
#include "provisioner/vmhost/template_store.h"
#include "test_util.h"

using namespace provisioner;
using namespace provisioner::vmhost;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kImageBytes = 4 << 20;

bool have_qemu_img() {
    static const bool present = make_process_runner()->run({"qemu-img", "--version"}).is_ok();
    if (!present) MESSAGE("qemu-img is not installed (scripts/setup installs qemu-utils): skipped");
    return present;
}

struct Fixture {
    testutil::TempDir tmp;
    std::unique_ptr<ProcessRunner> runner = make_process_runner();
    base::FakeClock clock;
    std::unique_ptr<TemplateStore> store;

    Fixture() {
        fs::create_directories(tmp / "vms");
        store = open_store();
    }
    std::unique_ptr<TemplateStore> open_store(TemplateStoreOptions options = {}) {
        options.runner = options.runner ? options.runner : runner.get();
        options.clock = &clock;
        auto s = TemplateStore::open(tmp / "templates", options);
        REQUIRE_MESSAGE(s.is_ok(), s.status().message());
        return std::move(*s);
    }
    std::int64_t now() {
        return std::chrono::duration_cast<std::chrono::seconds>(clock.wall_now().time_since_epoch())
            .count();
    }
    void pass(int seconds) { clock.advance(std::chrono::seconds(seconds)); }
    // A raw base template of random data, added by moving the file in.
    TemplateInfo add_base(const std::string& name, const std::string& version,
                          std::vector<std::string> labels = {}) {
        fs::path incoming = tmp / (name + ".incoming");
        testutil::write_file(incoming, testutil::random_bytes(kImageBytes, 7));
        auto t = store->add({name, version, std::move(labels), "", "raw"}, incoming, AddMode::move);
        REQUIRE_MESSAGE(t.is_ok(), t.status().message());
        CHECK(!fs::exists(incoming));
        return *t;
    }
    TemplateInfo add_child(const std::string& name, const std::string& parent,
                           std::vector<std::string> labels = {}) {
        auto t = store->add_overlay({name, "1", std::move(labels), parent, "qcow2"});
        REQUIRE_MESSAGE(t.is_ok(), t.status().message());
        return *t;
    }
    std::vector<std::string> files(const std::string& sub) const {
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(tmp / sub))
            names.push_back(e.path().filename());
        std::sort(names.begin(), names.end());
        return names;
    }
};

}  // namespace

TEST_CASE("vmhost: templates two levels deep, and VM disks as overlays on them") {
    if (!have_qemu_img()) return;
    Fixture f;
    f.add_base("debian", "12", {"os"});
    f.add_child("web", "debian@12", {"web"});
    f.add_child("web-php", "web@1", {"web", "php"});
    auto disk = f.store->create_overlay("label=php", f.tmp / "vms/vm1.qcow2");
    REQUIRE_MESSAGE(disk.is_ok(), disk.status().message());
    CHECK(disk->format == "qcow2");
    CHECK(disk->path == f.tmp.path() / "vms/vm1.qcow2");

    QemuImg qemu_img(*f.runner);
    auto chain = qemu_img.backing_chain(disk->path);
    REQUIRE_MESSAGE(chain.is_ok(), chain.status().message());
    REQUIRE(chain->size() == 4);
    CHECK((*chain)[0].filename == disk->path);
    CHECK((*chain)[0].backing_filename == (f.tmp.path() / "templates/web-php@1.qcow2").string());
    CHECK((*chain)[1].backing_filename == "web@1.qcow2");  // relative inside the store
    CHECK((*chain)[2].backing_filename == "debian@12.raw");
    CHECK((*chain)[3].filename == f.tmp.path() / "templates/debian@12.raw");
    CHECK((*chain)[3].format == "raw");
    CHECK((*chain)[0].virtual_size == kImageBytes);
    // The overlay reads as the base: every level is an empty copy-on-write layer.
    auto same = f.runner->run({"qemu-img", "compare", "-q", disk->path.string(),
                               (f.tmp / "templates/debian@12.raw").string()});
    CHECK(same->exit_code == 0);

    auto used = f.store->resolve("web-php@1");
    CHECK(used->last_used == f.now());
    CHECK(used->use_count == 1);
    CHECK(f.store->resolve("web")->use_count == 0);

    // Full copies: a raw base is copied (sparse), an overlay flattened by qemu-img convert.
    auto raw = f.store->create_full_copy("debian", f.tmp / "vms/vm2.raw");
    REQUIRE_MESSAGE(raw.is_ok(), raw.status().message());
    CHECK(raw->format == "raw");
    CHECK(testutil::read_file(raw->path) == testutil::random_bytes(kImageBytes, 7));
    auto flat = f.store->create_full_copy("web-php", f.tmp / "vms/vm3.qcow2");
    REQUIRE_MESSAGE(flat.is_ok(), flat.status().message());
    CHECK(flat->format == "qcow2");
    CHECK(qemu_img.backing_chain(flat->path)->size() == 1);
    CHECK(f.runner->run({"qemu-img", "compare", "-q", flat->path.string(), raw->path.string()})
              ->exit_code == 0);

    // The index survives a reopen.
    auto again = f.open_store();
    auto listed = again->list();
    REQUIRE(listed.size() == 3);
    CHECK(listed[0].id() == "debian@12");
    CHECK(listed[1].id() == "web@1");
    CHECK(listed[2].id() == "web-php@1");
    CHECK(listed[2].parent == "web@1");
    CHECK(listed[2].labels == std::vector<std::string>{"php", "web"});
    CHECK(listed[2].use_count == 2);
    CHECK(f.files("templates") == std::vector<std::string>{"debian@12.raw", "templates.json",
                                                           "web-php@1.qcow2", "web@1.qcow2"});
}

TEST_CASE("vmhost: the store resolves by use time, then version, and keeps labels") {
    if (!have_qemu_img()) return;
    Fixture f;
    f.add_base("debian", "11");
    f.pass(10);
    f.add_base("debian", "12");
    CHECK(f.store->resolve("debian")->version == "12");
    f.pass(10);
    REQUIRE(f.store->create_overlay("debian@11", f.tmp / "vms/a.qcow2").is_ok());
    CHECK(f.store->resolve("debian")->version == "11");  // the most recently used
    f.pass(10);
    REQUIRE(f.store->create_overlay("debian@12", f.tmp / "vms/b.qcow2").is_ok());
    CHECK(f.store->resolve("debian")->version == "12");
    REQUIRE(f.store->set_labels("debian@11", {"lts", "os", "lts"}).is_ok());
    CHECK(f.store->resolve("label=lts")->id() == "debian@11");
    CHECK(f.store->set_labels("debian@11", {"bad label"}).code() == Code::invalid_argument);
    CHECK(f.store->set_labels("debian@9", {"x"}).code() == Code::not_found);
    CHECK(f.open_store()->resolve("label=lts")->labels == std::vector<std::string>{"lts", "os"});
}

TEST_CASE("vmhost: dispose_cold keeps templates that back a disk or a kept template") {
    if (!have_qemu_img()) return;
    Fixture f;
    f.add_base("a", "1");
    f.add_child("b", "a@1");
    f.add_base("c", "1");
    f.add_child("d", "c@1");
    f.add_base("e", "1");
    f.add_child("f", "e@1");
    const fs::path vm1 = f.tmp / "vms/vm1.qcow2";
    REQUIRE(f.store->create_overlay("b", vm1).is_ok());
    f.pass(7200);
    fs::path scratch = f.tmp / "vms/scratch.qcow2";
    REQUIRE(f.store->create_overlay("f", scratch).is_ok());  // f is warm, its disk gone
    fs::remove(scratch);
    f.pass(1800);

    auto gone = f.store->dispose_cold(std::chrono::hours(1), {vm1, f.tmp / "vms/deleted.qcow2"});
    REQUIRE_MESSAGE(gone.is_ok(), gone.status().message());
    std::vector<std::string> ids;
    for (const auto& t : *gone) ids.push_back(t.id());
    std::sort(ids.begin(), ids.end());
    CHECK(ids == std::vector<std::string>{"c@1", "d@1"});
    CHECK(f.files("templates") == std::vector<std::string>{"a@1.raw", "b@1.qcow2", "e@1.raw",
                                                           "f@1.qcow2", "templates.json"});
    CHECK(f.runner->run({"qemu-img", "info", vm1.string()})->exit_code == 0);

    // Once the VM is gone and f cools down, everything goes, children with their parents.
    fs::remove(vm1);
    f.pass(7200);
    gone = f.store->dispose_cold(std::chrono::hours(1), {vm1});
    REQUIRE(gone.is_ok());
    CHECK(gone->size() == 4);
    CHECK(f.files("templates") == std::vector<std::string>{"templates.json"});
    CHECK(f.open_store()->list().empty());
}

TEST_CASE("vmhost: template errors are clear and leave nothing half made") {
    if (!have_qemu_img()) return;
    Fixture f;
    f.add_base("debian", "12");
    const fs::path disk = f.tmp / "vms/vm.qcow2";

    auto unknown = f.store->create_overlay("centos", disk);
    CHECK(unknown.status().code() == Code::not_found);
    CHECK(unknown.status().message() ==
          "creating disk " + disk.string() + " on template centos: no template matches 'centos'");
    CHECK(f.store->create_overlay("debian@13", disk)
              .status()
              .message()
              .find("versions of debian: 12") != std::string::npos);
    CHECK(f.store->create_overlay("label=", disk).status().code() == Code::invalid_argument);

    // qemu-img fails: the base file vanished behind the store's back.
    fs::rename(f.tmp / "templates/debian@12.raw", f.tmp / "away.raw");
    auto failed = f.store->create_overlay("debian", disk);
    CHECK(failed.status().code() == Code::storage);
    CHECK_MESSAGE(
        failed.status().message().find("qemu-img create -q -f qcow2 -b ") != std::string::npos,
        failed.status().message());
    CHECK_MESSAGE(failed.status().message().find("No such file") != std::string::npos,
                  failed.status().message());
    CHECK(f.files("vms").empty());
    CHECK(f.store->resolve("debian")->use_count == 0);
    fs::rename(f.tmp / "away.raw", f.tmp / "templates/debian@12.raw");

    // The disk is there already.
    testutil::write_file(disk, {1, 2, 3});
    CHECK(f.store->create_overlay("debian", disk).status().code() == Code::conflict);
    CHECK(testutil::read_file(disk) == std::vector<std::uint8_t>{1, 2, 3});
    fs::remove(disk);

    // qemu-img is not there at all.
    TemplateStoreOptions missing;
    missing.qemu_img = "/nonexistent/qemu-img";
    auto no_tool = f.open_store(missing)->create_overlay("debian", disk);
    CHECK(no_tool.status().code() == Code::not_found);
    CHECK(no_tool.status().message().find("/nonexistent/qemu-img") != std::string::npos);
    CHECK(f.files("vms").empty());

    // Adding: a wrong declared format puts the file back where it was.
    fs::path incoming = f.tmp / "incoming.qcow2";
    REQUIRE(QemuImg(*f.runner).create(incoming, "qcow2", 1 << 20).is_ok());
    auto wrong = f.store->add({"x", "1", {}, "", "raw"}, incoming, AddMode::move);
    CHECK(wrong.status().code() == Code::invalid_argument);
    CHECK(wrong.status().message().find("the image is qcow2, not raw") != std::string::npos);
    CHECK(fs::exists(incoming));
    auto orphan = f.store->add({"x", "1", {}, "debian@12", "qcow2"}, incoming, AddMode::copy);
    CHECK(orphan.status().code() == Code::invalid_argument);
    CHECK(orphan.status().message().find("backing file is not debian@12.raw") != std::string::npos);
    CHECK(
        f.store->add({"x", "1", {}, "nope@1", "qcow2"}, incoming, AddMode::copy).status().code() ==
        Code::not_found);
    CHECK(f.store->add({"debian", "12", {}, "", "raw"}, incoming, AddMode::copy).status().code() ==
          Code::conflict);
    CHECK(
        f.store->add({"y", "1", {}, "", "qcow2"}, f.tmp / "none", AddMode::copy).status().code() ==
        Code::not_found);
    CHECK(f.files("templates") == std::vector<std::string>{"debian@12.raw", "templates.json"});

    f.add_child("web", "debian@12");
    CHECK(f.store->remove("debian@12").code() == Code::conflict);
    CHECK(f.store->remove("web@1").is_ok());
    CHECK(f.store->remove("web@1").code() == Code::not_found);
    CHECK(f.files("templates") == std::vector<std::string>{"debian@12.raw", "templates.json"});

    testutil::write_file(f.tmp / "templates/templates.json", {'{', 'x'});
    auto broken = TemplateStore::open(f.tmp / "templates");
    CHECK(broken.status().code() == Code::storage);
    CHECK(broken.status().message().find("templates.json") != std::string::npos);
}

TEST_CASE("vmhost: a failing qemu-img's own words reach the caller") {
    struct Failing : ProcessRunner {
        Result<ProcessResult> run(const std::vector<std::string>&) override {
            ProcessResult failed;
            failed.exit_code = 1;
            failed.err = "qemu-img: disk quota exceeded\n";
            return failed;
        }
    } failing;
    Fixture f;
    TemplateStoreOptions options;
    options.runner = &failing;
    auto store = f.open_store(options);
    testutil::write_file(f.tmp / "base.raw", {0});
    auto t = store->add({"debian", "12", {}, "", "raw"}, f.tmp / "base.raw", AddMode::move);
    CHECK(t.status().code() == Code::storage);
    CHECK(t.status().message() ==
          "adding template debian@12: qemu-img info -U --output=json --backing-chain " +
              (f.tmp / "templates").string() + "/debian@12.raw.partial-" +
              std::to_string(::getpid()) + ": exit 1: qemu-img: disk quota exceeded");
    CHECK(fs::exists(f.tmp / "base.raw"));
    CHECK(f.files("templates").empty());
}
