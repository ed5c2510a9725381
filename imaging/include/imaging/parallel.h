// Runs fn(i) for i in [0, count) on `threads` threads (0: one per core), stopping at the first
// error, which it returns. fn must be safe to call concurrently for different i.
#pragma once

#include <cstddef>
#include <functional>

#include "imaging/status.h"

namespace imaging {

Status parallel_for(std::size_t count, unsigned threads, const std::function<Status(std::size_t)>& fn);

}  // namespace imaging
