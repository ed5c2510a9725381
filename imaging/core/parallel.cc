#include "imaging/parallel.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace imaging {

Status parallel_for(std::size_t count, unsigned threads,
                    const std::function<Status(std::size_t)>& fn) {
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    threads = unsigned(std::min<std::size_t>(threads, std::max<std::size_t>(count, 1)));
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex mu;
    Status first_error;
    auto run = [&] {
        for (std::size_t i; !failed && (i = next.fetch_add(1)) < count;) {
            Status s = fn(i);
            if (!s) {
                std::lock_guard lock(mu);
                if (!failed.exchange(true)) first_error = s;
            }
        }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(run);
    run();
    for (auto& t : pool) t.join();
    return first_error;
}

}  // namespace imaging
