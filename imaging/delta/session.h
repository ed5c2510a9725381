// One receiver's conversation with the delta server (see server.h).
#pragma once

#include <memory>

#include "block_signature.h"
#include "framed_stream.h"
#include "imaging/packed_image.h"
#include "server.h"

namespace imaging::delta {

class ServerSession {
public:
    ServerSession(std::unique_ptr<FramedStream> stream, const PackedImage& image,
                  const ImageSignature& signature, const ServeOptions& options);
    ~ServerSession();
    // Runs to the end of the conversation; the error (if any) was also sent to the peer.
    Status run();
    std::uint64_t bytes_sent() const { return stream_->bytes_out(); }

private:
    Status on_signature_request(const Message& m);
    Status on_want(const Message& m);
    Status send_literals(const WantItem& item);
    Status send(MsgType type, std::span<const std::uint8_t> body);

    std::unique_ptr<FramedStream> stream_;
    const PackedImage& image_;
    const ImageSignature& signature_;
    const ServeOptions& options_;
    struct Compressor;
    std::unique_ptr<Compressor> compressor_;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace imaging::delta
