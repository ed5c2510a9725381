// Helpers shared by the unit tests: a temporary directory and deterministic test data.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace testutil {

class TempDir {
public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "provisioner-test-XXXXXX").string();
        path_ = ::mkdtemp(tmpl.data());
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

inline std::vector<std::uint8_t> random_bytes(std::size_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<std::uint8_t> v(n);
    for (auto& b : v) b = std::uint8_t(rng());
    return v;
}

inline void write_file(const std::filesystem::path& p, const std::vector<std::uint8_t>& data) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
}

inline std::vector<std::uint8_t> read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// Writes text to p, creating p's directories.
inline void write_text(const std::filesystem::path& p, const std::string& text) {
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
}

// The whole content of the file at p ("" when it cannot be read).
inline std::string file_text(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The permission bits of the file at p (07777 when it does not exist), to compare with 0600.
inline unsigned file_mode(const std::filesystem::path& p) {
    std::error_code ec;
    return unsigned(std::filesystem::status(p, ec).permissions() & std::filesystem::perms::mask);
}

// Whether text (lines ending in "\n") holds line as one whole line.
inline bool has_line(const std::string& text, const std::string& line) {
    return text.starts_with(line + "\n") || text.find("\n" + line + "\n") != std::string::npos;
}

// An image-like buffer: chunks of random data, of text, and all-zero chunks.
inline std::vector<std::uint8_t> sample_image(std::size_t chunks, std::uint32_t chunk_size, std::uint32_t seed) {
    std::vector<std::uint8_t> img(std::size_t(chunks) * chunk_size, 0);
    for (std::size_t c = 0; c < chunks; ++c) {
        if (c % 3 == 2) continue;  // zero chunk
        auto r = random_bytes(chunk_size / 2, seed + std::uint32_t(c));
        std::copy(r.begin(), r.end(), img.begin() + std::ptrdiff_t(c * chunk_size));
        for (std::size_t k = chunk_size / 2; k < chunk_size; ++k) img[c * chunk_size + k] = "provisioner "[k % 12];
    }
    return img;
}

}  // namespace testutil
