// Which files of the metrics history (metrics_history.h) hold each VM's rows: a VM's rows stay
// in the file of every host that reported it, so a VM that moved is read from several. Kept in
// one file of "VM<TAB>FILE" lines (both as the history names its files), appended when a VM
// first enters a file, before its columns do: the index may name a file that lacks a VM's
// columns (a reader skips it), never miss one that has them. Thread-safe.
#pragma once

#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace provisioner::server {

class HistoryIndex {
  public:
    // Reads path (absent: empty). Lines that are malformed, repeated, or name a file for which
    // exists(file) is false are left out; when they were many, path is written again without
    // them, so the index does not grow with hosts that come and go.
    HistoryIndex(std::filesystem::path path,
                 const std::function<bool(const std::string& file)>& exists);
    ~HistoryIndex();
    HistoryIndex(const HistoryIndex&) = delete;
    HistoryIndex& operator=(const HistoryIndex&) = delete;

    // vm's rows go into file from now on: appended unless known. A write error loses the
    // line (a moved VM's older rows are then not found by reads), nothing else.
    void add(const std::string& vm, const std::string& file);
    // The files that have held vm's rows, oldest first.
    std::vector<std::string> files_of(const std::string& vm) const;

  private:
    const std::filesystem::path path_;
    mutable std::mutex mu_;
    std::unordered_map<std::string, std::vector<std::string>> files_;
    int fd_ = -1;  // path_, open for appending once a line is added
};

}  // namespace provisioner::server
