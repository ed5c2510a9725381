// How the metrics history (metrics_history.h) names its files and its columns: shared by its
// writer and its reader.
//   by-host/ID.hist  a host's file: its columns and its VMs'; each column's first label is its
//                    member (key "", value "" for the host itself, the VM's name for a VM)
//   by-vm/NAME.hist  a VM recorded without a host
//   vms.index        the files that have held each VM's rows (history_index.h)
// A file's key is its path under the history's directory without ".hist".
#pragma once

#include <limits>
#include <string>

#include "history_series.h"

namespace provisioner::server::history_layout {

inline constexpr const char* kHostFiles = "by-host";
inline constexpr const char* kVmFiles = "by-vm";
inline constexpr const char* kIndex = "vms.index";

// A cell of a row that holds no value (the series was not reported in that bucket).
inline constexpr float kNone = std::numeric_limits<float>::quiet_NaN();

// A name as a file name: [A-Za-z0-9_-] and inner dots kept, every other byte %XX.
std::string escape(const std::string& name);
std::string unescape(const std::string& name);  // escape()'s inverse

std::string host_key(const std::string& host_id);
std::string vm_key(const std::string& vm);
// The member an entity's columns carry: "" for a host, its name for a VM.
std::string member_of(const Entity& entity);

// The column a file keeps for member's series.
Series member_column(const std::string& member, const Series& series);
// The member a file's column belongs to, or null when it has no member label.
const std::string* column_member(const Series& column);
// The column's series without its member label (column_member() must be non-null).
Series strip_member(const Series& column);

}  // namespace provisioner::server::history_layout
