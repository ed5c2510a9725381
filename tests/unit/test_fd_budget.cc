// provisionerd's file descriptors: the HTTP server's connections and the metrics history's open
// files add up under RLIMIT_NOFILE, and an impossible --max-connections is refused.
#include <doctest/doctest.h>

#include "fd_budget.h"

using provisioner::server::split_fd_budget;

TEST_CASE("fd budget: connections and history files fit under the limit") {
    for (std::size_t limit : {1024u, 20000u, 65536u, 1048576u}) {
        auto b = split_fd_budget(limit, 0);
        REQUIRE(b);
        CHECK(b->connections + b->history_files + 256 <= limit);
        CHECK(b->connections <= 16384);
    }
    CHECK(split_fd_budget(1048576, 0)->connections == 16384);  // 10,000 hosts and the API
    CHECK(split_fd_budget(20000, 0)->connections == 10000);
    CHECK(split_fd_budget(1024, 0)->connections == 512);
    auto asked = split_fd_budget(20000, 2000);
    REQUIRE(asked);
    CHECK(asked->connections == 2000);
    CHECK(asked->history_files == 18000 - 1125);
    auto refused = split_fd_budget(20000, 10001);
    REQUIRE(!refused);
    CHECK(refused.status().message().find("--max-connections 10001") == 0);
}
