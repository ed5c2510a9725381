// The loops that drive an engine over a real socket until its session ends: wait for
// datagrams up to the engine's wait_hint(), feed them, tick. The engines hold the protocol;
// these only move bytes and time.
#pragma once

#include <atomic>

#include "datagram_socket.h"
#include "receiver_engine.h"
#include "sender_engine.h"

namespace imaging::multicast {

// Runs until the session is over; when *stop becomes true, aborts it (END to the group).
Status run_sender(SenderEngine& engine, DatagramSocket& socket, const std::atomic<bool>& stop);
Status run_receiver(ReceiverEngine& engine, DatagramSocket& socket, const std::atomic<bool>& stop);

}  // namespace imaging::multicast
