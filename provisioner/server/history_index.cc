#include "history_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

namespace provisioner::server {

namespace fs = std::filesystem;

HistoryIndex::HistoryIndex(fs::path path,
                           const std::function<bool(const std::string& file)>& exists)
    : path_(std::move(path)) {
    std::ifstream in(path_);
    std::string line;
    std::size_t lines = 0, kept = 0;
    std::unordered_map<std::string, bool> present;  // exists(), once a file
    while (std::getline(in, line)) {
        ++lines;
        const auto tab = line.find('\t');
        if (tab == std::string::npos || tab == 0 || tab + 1 == line.size()) continue;
        std::string file = line.substr(tab + 1);
        auto known = present.find(file);
        if (known == present.end()) known = present.emplace(file, exists(file)).first;
        if (!known->second) continue;
        auto& files = files_[line.substr(0, tab)];
        if (std::find(files.begin(), files.end(), file) == files.end()) {
            files.push_back(std::move(file));
            ++kept;
        }
    }
    in.close();
    if (lines <= kept + kept / 4 + 64) return;
    const fs::path tmp = path_.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        for (const auto& [vm, files] : files_)
            for (const std::string& file : files) out << vm << '\t' << file << '\n';
        if (!out) return;
    }
    std::error_code ec;
    fs::rename(tmp, path_, ec);
}

HistoryIndex::~HistoryIndex() {
    if (fd_ >= 0) ::close(fd_);
}

void HistoryIndex::add(const std::string& vm, const std::string& file) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& files = files_[vm];
    if (std::find(files.begin(), files.end(), file) != files.end()) return;
    files.push_back(file);
    std::string line = vm + "\t" + file + "\n";
    if (fd_ < 0) {
        fd_ = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd_ < 0) return;
        // A last line cut short (a crash mid-write) is ended first, so this one stays whole.
        struct stat st {};
        char last = '\n';
        if (::fstat(fd_, &st) == 0 && st.st_size > 0 &&
            ::pread(fd_, &last, 1, st.st_size - 1) == 1 && last != '\n')
            line.insert(line.begin(), '\n');
    }
    ssize_t written = ::write(fd_, line.data(), line.size());
    (void)written;  // see add()'s contract
}

std::vector<std::string> HistoryIndex::files_of(const std::string& vm) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = files_.find(vm);
    return it == files_.end() ? std::vector<std::string>() : it->second;
}

}  // namespace provisioner::server
