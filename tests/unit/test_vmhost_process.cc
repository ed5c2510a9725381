// vmhost: running a program to completion (fork/exec) and capturing what it says.
#include <doctest/doctest.h>

#include "provisioner/vmhost/process.h"

using namespace provisioner;
using namespace provisioner::vmhost;

TEST_CASE("vmhost: the process runner captures exit code, stdout and stderr") {
    auto runner = make_process_runner();
    auto r = runner->run({"sh", "-c", "echo out; echo err >&2; exit 3"});
    REQUIRE_MESSAGE(r.is_ok(), r.status().message());
    CHECK(r->exit_code == 3);
    CHECK(r->out == "out\n");
    CHECK(r->err == "err\n");

    auto big = runner->run({"sh", "-c", "head -c 300000 /dev/zero; head -c 200000 /dev/zero >&2"});
    REQUIRE(big.is_ok());
    CHECK(big->exit_code == 0);
    CHECK(big->out.size() == 300000);  // both pipes drained: neither stalls the child
    CHECK(big->err.size() == 200000);

    auto killed = runner->run({"sh", "-c", "kill -9 $$"});
    REQUIRE(killed.is_ok());
    CHECK(killed->exit_code == 128 + 9);
}

TEST_CASE("vmhost: a program that cannot be started is an error, not an exit code") {
    auto runner = make_process_runner();
    auto r = runner->run({"provisioner-no-such-program", "x"});
    CHECK(r.status().code() == Code::not_found);
    CHECK(r.status().message().find("provisioner-no-such-program") != std::string::npos);
    CHECK(runner->run({}).status().code() == Code::invalid_argument);
    CHECK(command_line({"qemu-img", "create", "-b", "a b", "it's"}) ==
          "qemu-img create -b 'a b' 'it'\\''s'");
}
