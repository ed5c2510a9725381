#include "fd_budget.h"

#include <sys/resource.h>

#include <algorithm>
#include <string>

namespace provisioner::server {

Result<FdBudget> split_fd_budget(std::size_t limit, std::size_t asked_connections) {
    FdBudget budget;
    budget.limit = limit;
    if (asked_connections > limit / 2)
        return Status::error(Code::invalid_argument,
                             "--max-connections " + std::to_string(asked_connections) +
                                 " leaves too few file descriptors: at most half of "
                                 "RLIMIT_NOFILE (" + std::to_string(limit) + "), " +
                                 std::to_string(limit / 2));
    budget.connections = asked_connections
                             ? asked_connections
                             : std::clamp<std::size_t>(limit / 2, 64, 16384);
    const std::size_t left = limit > budget.connections ? limit - budget.connections : 0;
    const std::size_t rest = std::max<std::size_t>(256, left / 16);
    budget.history_files = std::max<std::size_t>(16, left > rest ? left - rest : 0);
    return budget;
}

std::size_t raise_open_file_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = std::min<rlim_t>(limit.rlim_max, rlim_t(1) << 20);
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    return limit.rlim_cur == RLIM_INFINITY ? std::size_t(1) << 20 : std::size_t(limit.rlim_cur);
}

}  // namespace provisioner::server
