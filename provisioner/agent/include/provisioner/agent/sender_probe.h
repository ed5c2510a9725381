// Whether a job's sender is there: asked after a transfer broke off, when a server hands the
// agent the same job again. A server that has just died still owns its work until its lease
// runs out, so the job it was given may name it for a while; a sender that answers but fails
// the same way twice has a fault of its own.
#pragma once

#include <chrono>
#include <string>

#include "provisioner/agent/job.h"

namespace provisioner::agent {

enum class SenderState {
    answers,  // a TCP connection to the sender was accepted
    silent,   // refused, unreachable or no answer within the timeout
    unknown,  // the transport has no address to ask (multicast: a group, not a server)
};

const char* to_string(SenderState state);

// "ADDR:PORT" of the job's sender: delta's `from`, the host and port of torrent's URL (its
// tracker and seed); "" for multicast.
std::string sender_address(const Job& job);

// Connects to ADDR:PORT ("10.0.0.1:7000", "[fd00::1]:7000", "name:7000") and closes at once;
// a name resolving to several addresses answers when any of them does.
SenderState probe_address(const std::string& address, std::chrono::milliseconds timeout);

// probe_address(sender_address(job), timeout); unknown when there is no address.
SenderState probe_sender(const Job& job, std::chrono::milliseconds timeout);

// A multicast job cannot be probed: it names a group and a port, not its sender (a receiver
// learns the sender's unicast address from its datagrams), and a multicast sender answers no
// unicast request of a stranger (imaging/multicast/PROTOCOL.md: STATUS gets no reply,
// RECEIPT_ACK only a verified image's receipt). What the failed run says of it instead, from
// its error: unknown when it heard no session, the sender went silent or it ended the session
// (a sender restarted with the same job is worth running again, as before); answers when the
// run heard the session's sender and failed another way (a chunk or manifest that does not
// verify, the disk): the same failure twice is then a fault of its own, as for delta.
SenderState multicast_sender_heard(const std::string& error);

}  // namespace provisioner::agent
