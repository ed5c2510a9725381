// `template add` and `image import` read only inside the import directories (import_paths.h):
// never an arbitrary server path, never through a symlink that leads out.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "test_server_fixture.h"

namespace {

using namespace servertest;
namespace fs = std::filesystem;

std::string message_of(const json& answer) {
    return answer.contains("error") ? answer["error"].value("message", "") : "";
}

// Waits for the add's job when it starts one (Server::finish_job).
json add_from(Server& s, const std::string& path) {
    return s.finish_job(s.call_json(bhttp::verb::post, "/api/v1/templates",
                                    json{{"path", path}, {"name", "t"}, {"version", "1"}}.dump()));
}

std::size_t template_count(Server& s) {
    auto all = s.store->list_templates();
    REQUIRE(all.is_ok());
    return all->size();
}

TEST_CASE("imports: template add of a path outside the import directories is refused") {
    Server s;
    auto refused = add_from(s, "/etc/shadow");
    CHECK(s.last_status == 403);
    CHECK(refused["error"]["code"] == "forbidden");
    CHECK(message_of(refused).find("/etc/shadow is outside the import directories") !=
          std::string::npos);
    CHECK(message_of(refused).find(s.import_dir().string()) != std::string::npos);
    // Nothing of the state directory either: the signing key, the inventory.
    add_from(s, StateFiles{s.dir.path()}.signing_key().string());
    CHECK(s.last_status == 403);
    add_from(s, (s.dir / "inventory.db").string());
    CHECK(s.last_status == 403);
    // Malformed: relative, or climbing out with "..".
    add_from(s, "tpl");
    CHECK(s.last_status == 400);
    auto climbing = add_from(s, (s.import_dir() / ".." / "site.key").string());
    CHECK(s.last_status == 400);
    CHECK(message_of(climbing).find("\"..\"") != std::string::npos);
    // Inside, but absent: 404 (only inside is anything looked at).
    add_from(s, (s.import_dir() / "absent").string());
    CHECK(s.last_status == 404);
    CHECK(template_count(s) == 0);
    CHECK_FALSE(fs::exists(s.dir / "templates" / "t@1.raw"));

    s.add_template("debian", "1");  // a file inside STATE/import is fine
    CHECK(s.last_status == 201);
}

TEST_CASE("imports: a symlink in an import directory that leads out of it is refused") {
    Server s;
    testutil::TempDir elsewhere;
    std::ofstream(elsewhere / "secret") << "not for hosts";
    fs::create_symlink(elsewhere / "secret", s.import_dir() / "innocent.raw");
    auto refused = add_from(s, (s.import_dir() / "innocent.raw").string());
    CHECK(s.last_status == 403);
    CHECK(message_of(refused).find("resolves to " + (elsewhere / "secret").string()) !=
          std::string::npos);
    // A symlinked directory inside leads out the same way.
    fs::create_directory_symlink(elsewhere.path(), s.import_dir() / "sub");
    add_from(s, (s.import_dir() / "sub" / "secret").string());
    CHECK(s.last_status == 403);
    // Into the state directory: the key.
    fs::create_symlink(StateFiles{s.dir.path()}.signing_key(), s.import_dir() / "key.raw");
    add_from(s, (s.import_dir() / "key.raw").string());
    CHECK(s.last_status == 403);
    CHECK(template_count(s) == 0);

    // A symlink that stays inside is followed.
    std::ofstream(s.import_dir() / "real.raw") << "base";
    fs::create_symlink(s.import_dir() / "real.raw", s.import_dir() / "alias.raw");
    add_from(s, (s.import_dir() / "alias.raw").string());
    CHECK(s.last_status == 201);
}

TEST_CASE("imports: --import-dir adds directories, named directly or through a symlink") {
    testutil::TempDir extra, links;
    fs::create_directory_symlink(extra.path(), links / "imports");
    Server s([&](ServerConfig& c) { c.import_dirs = {links / "imports"}; });
    std::ofstream(extra / "web.raw") << "web";
    add_from(s, (links / "imports" / "web.raw").string());  // as configured
    CHECK(s.last_status == 201);
    s.finish_job(s.call_json(
        bhttp::verb::post, "/api/v1/templates",
        json{{"path", (extra / "web.raw").string()}, {"name", "t"}, {"version", "2"}}
            .dump()));  // as it resolves
    CHECK(s.last_status == 201);
    testutil::TempDir other;
    std::ofstream(other / "x.raw") << "x";
    add_from(s, (other / "x.raw").string());
    CHECK(s.last_status == 403);
}

TEST_CASE("imports: image import reads packs only inside the import directories") {
    Server s;
    s.import_image("1");
    CHECK(s.last_status == 201);
    // The same pack moved out of the import directory is refused, as is one that a symlink
    // names, and one whose files are symlinks to outside.
    testutil::TempDir elsewhere;
    fs::rename(s.import_dir() / "img-1", elsewhere / "img-1");
    auto refused = s.call_json(bhttp::verb::post, "/api/v1/images",
                               json{{"path", (elsewhere / "img-1").string()}}.dump());
    CHECK(s.last_status == 403);
    CHECK(message_of(refused).find("outside the import directories") != std::string::npos);
    fs::create_directory_symlink(elsewhere / "img-1", s.import_dir() / "linked");
    s.call_json(bhttp::verb::post, "/api/v1/images",
                json{{"path", (s.import_dir() / "linked").string()}}.dump());
    CHECK(s.last_status == 403);

    fs::create_directory(s.import_dir() / "img-2");
    for (const auto& e : fs::directory_iterator(elsewhere / "img-1")) {
        if (e.is_regular_file())
            fs::create_symlink(e.path(), s.import_dir() / "img-2" / e.path().filename());
        else
            fs::create_directory_symlink(e.path(), s.import_dir() / "img-2" / e.path().filename());
    }
    auto inner = s.call_json(bhttp::verb::post, "/api/v1/images",
                             json{{"path", (s.import_dir() / "img-2").string()}}.dump());
    CHECK(s.last_status == 403);
    CHECK(message_of(inner).find("is a symlink that leads outside") != std::string::npos);
    auto images = s.store->list_images();
    REQUIRE(images.is_ok());
    CHECK(images->size() == 1);
}

TEST_CASE("imports: an import directory that holds the state directory opens none of it") {
    testutil::TempDir top;
    fs::create_directories(top / "state" / "import");
    std::ofstream(top / "state" / "site.key") << "key";
    std::ofstream(top / "state" / "import" / "ok.raw") << "ok";
    std::ofstream(top / "beside.raw") << "beside";
    std::vector<fs::path> dirs{top / "state" / "import", top.path()};
    auto key = check_import_path(dirs, top / "state", (top / "state" / "site.key").string());
    CHECK(key.refusal == ImportPath::Refusal::outside);
    auto inside = check_import_path(dirs, top / "state", (top / "state/import/ok.raw").string());
    CHECK(inside.refusal == ImportPath::Refusal::none);
    CHECK(inside.resolved == fs::canonical(top / "state/import/ok.raw"));
    auto beside = check_import_path(dirs, top / "state", (top / "beside.raw").string());
    CHECK(beside.refusal == ImportPath::Refusal::none);
    // A prefix of a name is not a parent: /x/import-other is not inside /x/import.
    fs::create_directories(top / "state" / "import-other");
    std::ofstream(top / "state" / "import-other" / "f") << "f";
    auto sibling = check_import_path({top / "state" / "import"}, top / "state",
                                     (top / "state/import-other/f").string());
    CHECK(sibling.refusal == ImportPath::Refusal::outside);
}

}  // namespace
