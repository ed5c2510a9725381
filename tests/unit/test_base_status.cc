#include <doctest/doctest.h>

#include <cerrno>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "base/status.h"
#include "imaging/status.h"
#include "provisioner/status.h"

// One type under three names: a function of either library takes the other's Status as is.
static_assert(std::is_same_v<imaging::Status, base::Status>);
static_assert(std::is_same_v<provisioner::Status, base::Status>);
static_assert(std::is_same_v<imaging::Result<int>, provisioner::Result<int>>);
// A temporary's value is moved out, not referenced: `*f()` cannot dangle.
static_assert(
    std::is_same_v<decltype(std::declval<base::Result<std::string>>().value()), std::string>);
static_assert(std::is_same_v<decltype(*std::declval<base::Result<std::string>>()), std::string>);
static_assert(std::is_same_v<decltype(*std::declval<base::Result<std::string>&>()), std::string&>);

TEST_CASE("base status: ok, a plain error, a coded error and context") {
    base::Status ok;
    CHECK(ok.is_ok());
    CHECK(ok.code() == base::Code::ok);
    CHECK(ok.message() == "ok");
    CHECK(ok.context("reading").message() == "ok");

    base::Status plain = base::Status::error("short read");
    CHECK_FALSE(plain);
    CHECK(plain.code() == base::Code::error);
    CHECK(plain.context("reading pack").message() == "reading pack: short read");
    CHECK(plain.context("reading pack").code() == base::Code::error);

    base::Status coded = base::Status::error(base::Code::not_found, "no host h9");
    CHECK(coded.code() == base::Code::not_found);
    CHECK(coded.context("deploying").code() == base::Code::not_found);
    CHECK(coded.context("deploying").message() == "deploying: no host h9");

    // Code::ok is no error code: the status stays an error.
    CHECK_FALSE(base::Status::error(base::Code::ok, "odd"));

    CHECK(std::string(base::to_string(base::Code::error)) == "error");
    CHECK(std::string(base::to_string(base::Code::invalid_argument)) == "invalid argument");
    CHECK(std::string(base::to_string(base::Code::storage)) == "storage error");
}

TEST_CASE("base status: errno_status names the action and the system's reason") {
    base::Status s = base::errno_status("open /dev/nothing", ENOENT);
    CHECK(s.code() == base::Code::error);
    CHECK(s.message() == "open /dev/nothing: No such file or directory");
    errno = EACCES;
    CHECK(base::errno_status("open x").message() == "open x: Permission denied");
}

TEST_CASE("base result: value or status; a temporary's value is moved out") {
    auto make = [](bool good) -> base::Result<std::vector<std::string>> {
        if (!good) return base::Status::error(base::Code::conflict, "taken");
        return std::vector<std::string>{"a", "b"};
    };
    base::Result<std::vector<std::string>> bad = make(false);
    CHECK_FALSE(bad);
    CHECK(bad.status().code() == base::Code::conflict);
    CHECK(bad.status().message() == "taken");

    std::size_t n = 0;
    for (const std::string& s : *make(true)) n += s.size();  // the loop owns the vector
    CHECK(n == 2);
    CHECK(make(true).status().is_ok());

    base::Result<std::unique_ptr<int>> owned = std::make_unique<int>(7);
    std::unique_ptr<int> taken = std::move(owned).value();
    CHECK(*taken == 7);
}
