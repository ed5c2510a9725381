// receive() (receiver.h) over a stream that is already connected to the server. receive()
// connects to options.server and calls this; tests and the fuzzer hand it one end of a
// socketpair and speak for the server on the other, so that no network is involved.
#pragma once

#include "framed_stream.h"
#include "imaging/progress.h"
#include "imaging/signing.h"
#include "receiver.h"

namespace imaging::delta {

// As receive(), with `key` in place of options.pubkey; options.server is not used. The stream
// must outlive the call; it is left open (its owner closes it).
Result<ReceiveReport> receive_over(FramedStream& stream, const VerifyKey& key,
                                   const ReceiveOptions& options, Progress* progress);

}  // namespace imaging::delta
