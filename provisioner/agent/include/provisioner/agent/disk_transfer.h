// A cold move's disk through provisionerd (provisioner/API.md, "Moving a VM"): the source's
// agent uploads the VM's overlay in chunks with their offsets and then its size and SHA-256;
// the destination's agent downloads it in chunks once the server holds it whole, and checks
// it against the same size and SHA-256.
#pragma once

#include <filesystem>
#include <string>

#include "provisioner/agent/server_client.h"
#include "provisioner/status.h"

namespace provisioner::agent {

class ServerDisks {
  public:
    // A few MiB: the server's request bodies are in-memory strings, capped at 16 MiB.
    static constexpr std::size_t kChunk = 4 << 20;

    // base_url and token as ServerClient's; http is the seam tests answer through.
    ServerDisks(std::string base_url, std::string token,
                HttpFunction http = imaging::http::http_request);

    // Sends the file at path as transfer, from its start. storage when the server cannot be
    // reached or refuses a chunk, with its answer.
    Status upload(const std::string& transfer, const std::filesystem::path& path);
    // Writes transfer to path (replaced); invalid_argument when what arrived does not match
    // the server's size and SHA-256, storage when it cannot be fetched or written. On failure
    // path is removed.
    Status download(const std::string& transfer, const std::filesystem::path& path);

  private:
    imaging::http::ClientResponse call(const std::string& method, const std::string& path,
                                       std::string body, const std::string& content_type) const;
    Status fetch_into(const std::string& transfer, const std::filesystem::path& path);

    std::string base_url_;
    std::string token_;
    HttpFunction http_;
};

}  // namespace provisioner::agent
