// Store writes decided under a lock and applied after it is released, in the order they were
// decided. The owner (the Orchestrator) changes its memory under its lock and queues what the
// store must learn; whoever released the lock then applies the queue. The lock is never held
// across a SQLite commit (synchronous FULL: milliseconds to seconds on a busy disk), and two
// writes about one host (its imaging, then its result) reach the store in the order the owner
// decided them, whichever thread applies them.
//
// Thread-safe. Contract: queue() may be called with the owner's lock held (it only takes this
// queue's own short lock); apply() must not be (it waits for the write in progress, which may
// take the store's lock). A write must not take the owner's lock.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "provisioner/status.h"

namespace provisioner::server {

class OrderedWrites {
  public:
    using Write = std::function<Status()>;
    using Log = std::function<void(const std::string&)>;
    // What became of one write; read it once apply() has returned.
    struct Outcome {
        Status status = Status::ok();
        bool applied = false;
    };

    // log: how a failed write that nobody asks about is reported (every failure is logged).
    explicit OrderedWrites(Log log) : log_(std::move(log)) {}

    // Queues write after every write queued before it.
    std::shared_ptr<const Outcome> queue(Write write);
    // Applies the queued writes in order, one thread at a time. When it returns, every write
    // queued before the call has been applied (by this thread or another).
    void apply();

  private:
    struct Pending {
        Write write;
        std::shared_ptr<Outcome> outcome;
    };
    Log log_;
    std::mutex queue_mu_;  // guards queue_; held only to push or pop
    std::deque<Pending> queue_;
    std::mutex apply_mu_;  // one applier at a time: the queue's order is the store's
};

}  // namespace provisioner::server
