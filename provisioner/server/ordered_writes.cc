#include "ordered_writes.h"

namespace provisioner::server {

std::shared_ptr<const OrderedWrites::Outcome> OrderedWrites::queue(Write write) {
    auto outcome = std::make_shared<Outcome>();
    std::lock_guard lock(queue_mu_);
    queue_.push_back({std::move(write), outcome});
    return outcome;
}

void OrderedWrites::apply() {
    std::lock_guard applying(apply_mu_);
    for (;;) {
        Pending next;
        {
            std::lock_guard lock(queue_mu_);
            if (queue_.empty()) return;
            next = std::move(queue_.front());
            queue_.pop_front();
        }
        Status s = next.write();
        if (!s && log_) log_(s.message());
        // Published by apply_mu_: a caller reads its outcome after its own apply() took it.
        next.outcome->status = std::move(s);
        next.outcome->applied = true;
    }
}

}  // namespace provisioner::server
