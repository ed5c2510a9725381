#include "delivery_board.h"

#include <charconv>
#include <fstream>

namespace provisioner::server {

namespace {

// Bounds one poll's read of one log: a sender writes a short line per receiver.
constexpr std::uint64_t kMaxReadPerPoll = 1 << 20;

}  // namespace

std::vector<imaging::Delivery> DeliveryBoard::poll(std::vector<std::string>* problems) {
    std::vector<imaging::Delivery> found;
    std::lock_guard lock(mu_);
    std::map<std::filesystem::path, std::uint64_t> present;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir_, ec))
        if (entry.path().extension() == ".log") {
            auto known = offsets_.find(entry.path());
            present.emplace(entry.path(), known == offsets_.end() ? 0 : known->second);
        }
    offsets_ = std::move(present);
    for (auto& [path, offset] : offsets_) {
        std::ifstream in(path, std::ios::binary);
        if (!in) continue;  // not written yet
        in.seekg(std::streamoff(offset));
        std::string text(kMaxReadPerPoll, '\0');
        in.read(text.data(), std::streamsize(text.size()));
        text.resize(std::size_t(in.gcount()));
        std::size_t start = 0;
        for (std::size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
            std::string_view line(text.data() + start, nl - start);
            if (line.empty()) continue;
            auto d = imaging::decode_delivery(line);
            if (d)
                found.push_back(std::move(*d));
            else if (problems)
                problems->push_back(path.string() + ": " + d.status().message());
        }
        offset += start;  // an unfinished last line is read again next time
    }
    return found;
}

std::string receiver_id_of(std::int64_t deployment, std::int64_t host) {
    return std::to_string(deployment) + "/" + std::to_string(host);
}

bool parse_receiver_id(const std::string& id, std::int64_t& deployment, std::int64_t& host) {
    const auto slash = id.find('/');
    if (slash == std::string::npos) return false;
    auto number = [](std::string_view text, std::int64_t& out) {
        if (text.empty() || text.size() > 18) return false;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
        return ec == std::errc() && end == text.data() + text.size() && out > 0;
    };
    return number(std::string_view(id).substr(0, slash), deployment) &&
           number(std::string_view(id).substr(slash + 1), host);
}

}  // namespace provisioner::server
