// Bulk CSV import (all or nothing, errors with line numbers) and durability under kill -9.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "imaging/digest.h"
#include "imaging/pack.h"
#include "imaging/signing.h"
#include "provisioner/host_import.h"
#include "provisioner/image_import.h"
#include "provisioner/store.h"
#include "test_pack.h"
#include "test_util.h"

using namespace provisioner;

namespace {

std::unique_ptr<Store> memory_store() {
    auto store = open_sqlite_store(":memory:");
    REQUIRE_MESSAGE(store.is_ok(), store.status().message());
    return std::move(*store);
}

std::string host_line(int i) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "52:54:00:%02x:%02x:%02x,node-%05d,10.%d.%d.%d,rack-%02d\n",
                  (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff, i, (i >> 16) & 0xff, (i >> 8) & 0xff,
                  i & 0xff, i / 40);
    return buf;
}

}  // namespace

TEST_CASE("inventory import: quotes, comments, blank lines and column order") {
    auto store = memory_store();
    const char* csv =
        "# rack 7, delivered Tuesday\n"
        "name, MAC ,rack,ip\r\n"
        "\n"
        "\"web-1\",AA-BB-CC-00-00-01,\"r7\",10.0.7.1\n"
        "  # a comment line\n"
        "web-2 , aa:bb:cc:00:00:02 , r7 ,\n"
        "\"web-3\",\"aa:bb:cc:00:00:03\",\"\",\"fd00::3\"\n";
    auto r = import_hosts_csv(*store, csv);
    REQUIRE_MESSAGE(r.is_ok(), r.status().message());
    CHECK_MESSAGE(r->ok(), r->summary());
    CHECK(r->imported == 3);
    auto web1 = store->find_host(*Mac::parse("aa:bb:cc:00:00:01"));
    CHECK(web1->name == "web-1");
    CHECK(web1->rack == "r7");
    CHECK(web1->ip == "10.0.7.1");
    CHECK(web1->state == HostState::enrolled);
    CHECK(store->find_host_by_name("web-2")->ip.empty());
    CHECK(store->find_host_by_name("web-3")->ip == "fd00::3");
    CHECK(store->list_events({})->back().reason == "imported from CSV");
}

TEST_CASE("inventory import: every bad line is reported with its number, nothing imported") {
    auto store = memory_store();
    REQUIRE(store->add_host({*Mac::parse("52:54:00:00:00:aa"), "old", "", ""}, HostState::enrolled,
                            "op"));
    const char* csv =
        "mac,name,ip,rack\n"                        // 1
        "52:54:00:00:00:01,ok-1,10.0.0.1,r1\n"      // 2 fine
        "52:54:00:00:00:zz,bad-mac,,r1\n"           // 3 bad MAC
        "52:54:00:00:00:03,bad-ip,10.0.0.256,r1\n"  // 4 bad IP
        "52:54:00:00:00:01,dup-mac,,r1\n"           // 5 duplicate MAC of line 2
        "52:54:00:00:00:06,ok-1,,r1\n"              // 6 duplicate name of line 2
        "52:54:00:00:00:aa,new,,r1\n"               // 7 MAC already enrolled
        "52:54:00:00:00:08,old,,r1\n"               // 8 name already used
        "52:54:00:00:00:09,too,many,fields,here\n"  // 9 field count
        "\"52:54:00:00:00:0a,unterminated\n"        // 10 quote
        "\n"                                        // 11 blank
        "52:54:00:00:00:0c,bad_name!,,r1\n";        // 12 bad name
    auto r = import_hosts_csv(*store, csv);
    REQUIRE(r.is_ok());
    REQUIRE(!r->ok());
    CHECK(r->imported == 0);
    std::vector<std::size_t> lines;
    for (const LineError& e : r->errors) lines.push_back(e.line);
    CHECK(lines == std::vector<std::size_t>{3, 4, 5, 6, 7, 8, 9, 10, 12});
    const std::string summary = r->summary();
    INFO(summary);
    CHECK(summary.find("line 3: bad MAC \"52:54:00:00:00:zz\"") != std::string::npos);
    CHECK(summary.find("line 4: bad IP \"10.0.0.256\"") != std::string::npos);
    CHECK(summary.find("line 5: duplicate MAC 52:54:00:00:00:01 (also on line 2)") !=
          std::string::npos);
    CHECK(summary.find("line 6: duplicate name \"ok-1\" (also on line 2)") != std::string::npos);
    CHECK(summary.find("line 7: MAC 52:54:00:00:00:aa is already enrolled as old") !=
          std::string::npos);
    CHECK(summary.find("line 8: name \"old\" is already used") != std::string::npos);
    CHECK(summary.find("line 9: expected 4 fields, got 5") != std::string::npos);
    CHECK(summary.find("line 10: unterminated quoted field") != std::string::npos);
    CHECK(summary.find("nothing imported") != std::string::npos);
    // Nothing of that file: only the host that was there before, and its one event.
    CHECK(store->count_hosts({}).value() == 1);
    CHECK(store->list_events({})->size() == 1);
}

TEST_CASE("inventory import: header problems") {
    auto store = memory_store();
    auto no_header = import_hosts_csv(*store, "52:54:00:00:00:01,h1,,\n");
    REQUIRE(no_header.is_ok());
    REQUIRE(no_header->errors.size() == 1);
    CHECK(no_header->errors[0].line == 1);
    CHECK(no_header->errors[0].message.find("missing header line") != std::string::npos);
    auto unknown = import_hosts_csv(*store, "# c\nmac,hostname\n");
    CHECK(unknown->errors.at(0).line == 2);
    CHECK(unknown->errors.at(0).message.find("unknown column \"hostname\"") != std::string::npos);
    CHECK(!import_hosts_csv(*store, "")->ok());
    CHECK(import_hosts_csv(*store, "mac,name\n")->ok());  // a header alone imports nothing
    CHECK(store->count_hosts({}).value() == 0);
}

TEST_CASE("inventory import: a duplicate MAC is refused on a second import") {
    auto store = memory_store();
    REQUIRE(import_hosts_csv(*store, "mac,name\n52:54:00:00:00:01,a\n")->ok());
    auto second = import_hosts_csv(*store, "mac,name\n52:54:00:00:00:02,b\n52-54-00-00-00-01,c\n");
    REQUIRE(second.is_ok());
    REQUIRE(second->errors.size() == 1);
    CHECK(second->errors[0].line == 3);
    CHECK(store->count_hosts({}).value() == 1);
}

TEST_CASE("inventory import: 10,000 hosts in one transaction (timing sanity)") {
    testutil::TempDir dir;
    auto opened = open_sqlite_store(dir / "inventory.db");
    REQUIRE(opened.is_ok());
    std::string csv = "mac,name,ip,rack\n";
    for (int i = 1; i <= 10000; ++i) csv += host_line(i);
    const auto start = std::chrono::steady_clock::now();
    auto r = import_hosts_csv(**opened, csv);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    REQUIRE(r.is_ok());
    CHECK_MESSAGE(r->ok(), r->summary());
    CHECK(r->imported == 10000);
    MESSAGE("imported 10,000 hosts from CSV into a WAL file database in " << seconds * 1000
                                                                          << " ms");
    CHECK(seconds < 5.0);  // generous: shared machine; expect well under a second
    CHECK((*opened)->count_hosts({}).value() == 10000);
    HostFilter rack;
    rack.rack = "rack-10";
    CHECK((*opened)->count_hosts(rack).value() == 40);
}

TEST_CASE("inventory: kill -9 mid-transaction keeps every committed write and none of the rest") {
    testutil::TempDir dir;
    const auto path = dir / "inventory.db";
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        auto opened = open_sqlite_store(path);
        if (!opened) ::_exit(2);
        Store& store = **opened;
        if (!import_hosts_csv(store, "mac,name\n52:54:00:00:00:01,kept\n")->ok()) ::_exit(3);
        store.transaction([&]() -> Status {
            store.add_host({*Mac::parse("52:54:00:00:00:02"), "lost", "", ""}, HostState::enrolled,
                           "x");
            ::kill(::getpid(), SIGKILL);  // dies holding an open write transaction
            return Status::ok();
        });
        ::_exit(4);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    auto opened = open_sqlite_store(path);  // runs integrity_check
    REQUIRE_MESSAGE(opened.is_ok(), opened.status().message());
    CHECK((*opened)->find_host_by_name("kept").is_ok());
    CHECK((*opened)->find_host_by_name("lost").status().code() == Code::not_found);
    CHECK((*opened)->count_hosts({}).value() == 1);
}

TEST_CASE("inventory: an image record from `imaging pack` output") {
    testutil::TempDir dir;
    testutil::write_file(dir / "raw", testutil::sample_image(5, 64 * 1024, 9));
    imaging::PackOptions opt;
    opt.name = "dom0";
    opt.version = "2024.1";
    opt.chunk_size = 64 * 1024;
    opt.level = 1;
    auto manifest = testutil::pack_signed(dir.path(), dir / "raw", opt);

    auto image = image_from_pack(dir / "img");
    REQUIRE_MESSAGE(image.is_ok(), image.status().message());
    CHECK(image->name == "dom0");
    CHECK(image->version == "2024.1");
    CHECK(image->raw_size == 5 * 64 * 1024);
    CHECK(image->image_sha256 == imaging::to_hex(manifest.image_sha256));
    CHECK(image->signature == manifest.signature);
    CHECK(image->manifest_sha256.size() == 64);
    CHECK(image->stored_size == manifest.stored_bytes());

    auto store = memory_store();
    auto added = store->add_image(*image);
    REQUIRE(added.is_ok());
    CHECK(store->add_image(*image).status().code() == Code::conflict);
    CHECK(image_from_pack(dir / "nowhere").status().code() == Code::invalid_argument);
}
