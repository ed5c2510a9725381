// A DeltaServer on a free loopback port for a test's lifetime, shared by the delta tests.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "server.h"

namespace deltatest {

// The chunk size of the delta tests' images.
inline constexpr std::uint32_t kChunk = 64 * 1024;

// Whether s's message mentions text.
inline bool message_mentions(const base::Status& s, const std::string& text) {
    return s.message().find(text) != std::string::npos;
}

struct RunningServer {
    static imaging::delta::ServeOptions options(const std::filesystem::path& image_dir,
                                                std::optional<imaging::Secret> secret) {
        imaging::delta::ServeOptions opt;
        opt.image_dir = image_dir;
        opt.secret = std::move(secret);
        return opt;
    }
    std::unique_ptr<imaging::delta::DeltaServer> server;
    std::thread thread;
    // opt.listen is replaced by 127.0.0.1 and a free port.
    explicit RunningServer(imaging::delta::ServeOptions opt) {
        opt.listen = "127.0.0.1:0";
        auto s = imaging::delta::DeltaServer::start(opt);
        REQUIRE_MESSAGE(s, s.status().message());
        server = std::move(*s);
        thread = std::thread([this] { server->run(); });
    }
    explicit RunningServer(const std::filesystem::path& image_dir,
                           std::optional<imaging::Secret> secret = std::nullopt)
        : RunningServer(options(image_dir, std::move(secret))) {}
    ~RunningServer() {
        server->stop();
        thread.join();
    }
    std::string address() const { return "127.0.0.1:" + std::to_string(server->port()); }
};

}  // namespace deltatest
