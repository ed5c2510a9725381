// The rows of provisionerd's own state that must outlive the process (issue 15, "durable server
// state"): the VM applies and their actions, the last report of every Dom0 agent and guest
// agent, and the disks of cold moves held between two hosts.
//
// The store indexes the typed columns and never looks inside `body`: a JSON document the server
// writes and reads back (its encoder lives beside the server type it encodes), so that the
// store does not depend on the server's types and PostgreSQL can keep the same rows as text.
#pragma once

#include <cstdint>
#include <string>

#include "provisioner/records.h"

namespace provisioner {

struct VmApplyRow {
    std::int64_t id = 0;  // from allocate_ids("vm_apply")
    Timestamp created_at = 0;
    std::string body;
};

struct VmActionRow {
    std::int64_t id = 0;     // from allocate_ids("vm_action")
    std::int64_t apply = 0;  // 0: not part of an apply (a recall)
    HostId host = 0;         // the agent that carries it out
    std::string state;       // waiting, released, done, failed, skipped
    std::string body;
};

struct HostReportRow {
    HostId host = 0;
    Timestamp reported_at = 0;
    std::string body;
};

struct GuestReportRow {
    std::string vm;
    Timestamp reported_at = 0;
    std::string body;
};

// A host's BMC (provisioner/power): where it is, how to log in (the password sealed with the
// server's secret, never open in the store) and the power state last read from it.
struct HostBmcRow {
    HostId host = 0;
    Timestamp updated_at = 0;
    std::string body;
};

// Work owned by one server at a time (a deployment, a singleton job), held until expires_at
// unless renewed (lease_keeper.h). Times are milliseconds of the holders' wall clocks: servers
// sharing a store keep their clocks in step (NTP), and the lease time dwarfs their drift.
struct LeaseRow {
    std::string name;   // "deployment:12", "hot-templates"
    std::string owner;  // the holding server's id
    Timestamp acquired_at = 0;
    Timestamp expires_at = 0;
    // From acquire_lease(): the owner whose expired lease this call took over ("" when the
    // lease was free, or renewed by its owner).
    std::string taken_from;
};

// A cold move's disk on the server. The file holds the bytes; the row says whether they are
// complete and their digest (an incomplete transfer's size is its file's).
struct DiskTransferRow {
    std::string id;
    std::uint64_t size = 0;
    std::string sha256;  // hex, once complete
    bool complete = false;
    Timestamp started_at = 0;
};

}  // namespace provisioner
