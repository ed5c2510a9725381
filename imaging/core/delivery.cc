#include "imaging/delivery.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/json.h"

namespace imaging {

using nlohmann::json;

bool valid_receiver_id(std::string_view id) {
    if (id.empty() || id.size() > kMaxReceiverId) return false;
    for (char c : id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '.' || c == '_' || c == ':' || c == '/' || c == '-';
        if (!ok) return false;
    }
    return true;
}

Secret receiver_key(const Secret& master, std::string_view id) {
    return derive_key(master, "provisioner receiver v1:" + std::string(id));
}

std::string encode_delivery(const Delivery& d) {
    return json{{"receiver", d.receiver},         {"transport", d.transport},
                {"image_sha256", d.image_sha256}, {"peer", d.peer},
                {"chunks_sent", d.chunks_sent},   {"chunks_total", d.chunks_total},
                {"bytes_sent", d.bytes_sent}}
        .dump();
}

Result<Delivery> decode_delivery(std::string_view line) {
    constexpr std::size_t kMaxLine = 4096;
    if (line.size() > kMaxLine) return Status::error("delivery line over 4 KiB");
    auto parsed = base::parse_json(line, base::JsonLimits{kMaxLine, 2});
    if (!parsed || !parsed.value.is_object()) return Status::error("delivery line is not a JSON object");
    const json& j = parsed.value;
    auto text = [&](const char* key, std::string& out) {
        auto it = j.find(key);
        if (it == j.end() || !it->is_string()) return false;
        out = it->get<std::string>();
        return true;
    };
    auto number = [&](const char* key, std::uint64_t& out) {
        auto it = j.find(key);
        if (it == j.end()) return true;
        if (!it->is_number_unsigned()) return false;
        out = it->get<std::uint64_t>();
        return true;
    };
    Delivery d;
    if (!text("receiver", d.receiver) || !valid_receiver_id(d.receiver))
        return Status::error("delivery line without a valid receiver id");
    if (!text("transport", d.transport) || !text("image_sha256", d.image_sha256))
        return Status::error("delivery line without its transport or image_sha256");
    text("peer", d.peer);
    if (!number("chunks_sent", d.chunks_sent) || !number("chunks_total", d.chunks_total) ||
        !number("bytes_sent", d.bytes_sent))
        return Status::error("delivery line with a count that is not a whole number");
    return d;
}

Result<std::unique_ptr<DeliveryLog>> DeliveryLog::open(const std::filesystem::path& path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return Status::error("delivery log " + path.string() + ": " + std::strerror(errno));
    return std::unique_ptr<DeliveryLog>(new DeliveryLog(fd, path));
}

DeliveryLog::~DeliveryLog() { ::close(fd_); }

Status DeliveryLog::append(const Delivery& d) {
    const std::string line = encode_delivery(d) + "\n";
    std::lock_guard lock(mu_);
    // One write: a reader sees the whole line or none of it (a partial line is not read).
    const ssize_t n = ::write(fd_, line.data(), line.size());
    if (n != ssize_t(line.size()))
        return Status::error("delivery log " + path_.string() + ": " +
                             (n < 0 ? std::strerror(errno) : "short write"));
    if (::fdatasync(fd_) != 0) return Status::error("delivery log " + path_.string() + ": " + std::strerror(errno));
    return Status::ok();
}

}  // namespace imaging
