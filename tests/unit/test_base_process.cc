// base: running a program to completion (base/process.h): exit codes, captured output, lines,
// the time limit, and errors that say which program and why.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "base/process.h"

using namespace std::chrono_literals;

TEST_CASE("base process: exit code, stdout and stderr captured, both pipes drained") {
    auto r = base::run_process({"sh", "-c", "echo out; echo err >&2; exit 3"});
    REQUIRE_MESSAGE(r.is_ok(), r.status().message());
    CHECK(r->exit_code == 3);
    CHECK(r->out == "out\n");
    CHECK(r->err == "err\n");
    CHECK_FALSE(r->out_truncated);

    auto big =
        base::run_process({"sh", "-c", "head -c 300000 /dev/zero; head -c 200000 /dev/zero >&2"});
    REQUIRE(big.is_ok());
    CHECK(big->exit_code == 0);
    CHECK(big->out.size() == 300000);  // neither pipe stalls the child
    CHECK(big->err.size() == 200000);

    auto killed = base::run_process({"sh", "-c", "kill -9 $$"});
    REQUIRE(killed.is_ok());
    CHECK(killed->exit_code == 128 + 9);
    CHECK(base::run_process({"true"})->exit_code == 0);  // found on PATH
}

TEST_CASE("base process: lines as they arrive, and captured output bounded to its tail") {
    std::vector<std::string> out, err;
    base::RunOptions options;
    options.on_stdout_line = [&](std::string_view l) { out.emplace_back(l); };
    options.on_stderr_line = [&](std::string_view l) { err.emplace_back(l); };
    auto r = base::run_process({"/bin/sh", "-c",
                                "echo one; echo oops >&2; printf 'two\\r\\nthree'; "
                                "printf 'last' >&2; exit 3"},
                               options);
    REQUIRE(r);
    CHECK(r->exit_code == 3);
    CHECK(out == std::vector<std::string>{"one", "two", "three"});
    CHECK(err == std::vector<std::string>{"oops", "last"});

    base::RunOptions small;
    small.capture_limit = 1000;
    auto chatty = base::run_process(
        {"sh", "-c", "head -c 500000 /dev/zero | tr '\\0' x; echo; echo the-end >&2"}, small);
    REQUIRE(chatty);
    CHECK(chatty->out.size() == 1000);
    CHECK(chatty->out_truncated);
    CHECK(chatty->out.back() == '\n');  // the tail is kept
    CHECK(chatty->err == "the-end\n");
    CHECK_FALSE(chatty->err_truncated);
}

TEST_CASE("base process: environment entries replace or add variables") {
    base::RunOptions options;
    options.environment = {"PROVISIONER_T=1", "HOME=/nowhere", "PROVISIONER_T=2"};
    auto r =
        base::run_process({"sh", "-c", "printf '%s %s' \"$PROVISIONER_T\" \"$HOME\""}, options);
    REQUIRE(r);
    CHECK(r->out == "2 /nowhere");
}

TEST_CASE("base process: the time limit kills the program's whole group and is an error") {
    base::RunOptions options;
    options.timeout = 300ms;
    const auto start = std::chrono::steady_clock::now();
    // The grandchild holds the pipes open: only killing the group ends the read.
    auto r = base::run_process({"sh", "-c", "sleep 30 & sleep 30"}, options);
    CHECK(std::chrono::steady_clock::now() - start < 10s);
    REQUIRE_FALSE(r);
    CHECK(r.status().message() == "sh did not finish within 0.3 s (killed)");

    options.timeout = 5s;
    auto quick = base::run_process({"sh", "-c", "exit 4"}, options);
    REQUIRE(quick);
    CHECK(quick->exit_code == 4);
}

TEST_CASE("base process: start failures name the program; exit_error keeps stderr's tail") {
    auto missing = base::run_process({"provisioner-no-such-program", "x"});
    CHECK(missing.status().code() == base::Code::not_found);
    CHECK(missing.status().message() ==
          "cannot run provisioner-no-such-program: No such file or directory");
    CHECK_FALSE(base::run_process({"/nonexistent/imaging"}));
    CHECK(base::run_process({}).status().code() == base::Code::invalid_argument);

    const std::vector<std::string> argv{"qemu-img", "create", "-b", "a b", "it's"};
    CHECK(base::command_line(argv) == "qemu-img create -b 'a b' 'it'\\''s'");
    base::RunResult failed;
    failed.exit_code = 1;
    failed.err = "warning: something\nqemu-img: Could not open 'a b': No such file\n\n";
    base::Status s = base::exit_error(argv, failed, base::Code::storage);
    CHECK(s.code() == base::Code::storage);
    CHECK(s.message() ==
          "qemu-img create -b 'a b' 'it'\\''s': exit 1: warning: something qemu-img: Could not "
          "open 'a b': No such file");
    failed.err = std::string(5000, 'x') + "\nthe last line";
    CHECK(base::exit_error({"p"}, failed).message() == "p: exit 1: the last line");
}
