// The Dom0 agent's background template worker (SO-MVDS): it pre-copies the server's hot
// templates the host's store lacks (template_precopy.h), backing first and one at a time,
// checked against the server's signing key (pinned, else the one the hot list carries), and
// disposes of cold templates after the cool-down, every dispose_interval and once as soon as
// the first hot list is known, never one in the current hot list or under a VM's disk.
//
// The template store is not thread-safe: the worker and the agent's action loop share it
// through lock_store(), which the loop holds while it uses the store. A create whose template
// (or a template in its backing chain) is being pre-copied waits for that pre-copy, so a
// template is never fetched twice. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "provisioner/agent/template_precopy.h"
#include "provisioner/vmhost/template_store.h"

namespace provisioner::agent {

struct TemplateWorkerOptions {
    // tools.pubkey_file: the key pinned by --pubkey, checked against whatever the server sends;
    // empty: the key the hot list carries, kept in received_key_file.
    PrecopyTools tools;
    // Where the hot list's key is written (atomically, when it changes) when none is pinned;
    // pre-copy starts once it is there. Empty: not kept, so no pre-copy without a pinned key
    // (disposal still runs).
    std::filesystem::path received_key_file;
    std::chrono::milliseconds dispose_interval{3'600'000};
    // After a failed pre-copy the template waits retry_min, doubling up to retry_max.
    std::chrono::milliseconds retry_min{5'000};
    std::chrono::milliseconds retry_max{300'000};
    std::function<void(const std::string&)> log;  // one line per event
    // The overlay disks of the agent's VMs, whose templates stay; called with the store
    // locked, so that the action loop (which changes its VMs only under that lock) is still.
    std::function<std::vector<std::filesystem::path>()> vm_disks;
    base::Clock* clock = nullptr;  // retries and disposal rounds; default: base::real_clock()
};

class TemplateWorker {
  public:
    // store and the tools' runners must outlive the worker.
    TemplateWorker(vmhost::TemplateStore& store, TemplateWorkerOptions options);
    // Stops the thread (a pre-copy in progress runs to its end) and joins it.
    ~TemplateWorker();

    // Removes the files interrupted pre-copies left in STORE/.precopy, then starts the
    // background thread.
    void start();
    // The latest hot list; its key (when none is pinned) is written to received_key_file
    // first if it differs from the one kept.
    void update(HotTemplates hot);
    // The store, locked, with no pre-copy in flight of ref or of a template in its backing
    // chain (ref "": none waited for).
    std::unique_lock<std::mutex> lock_store(const std::string& ref = "");
    // What the store holds whole now ("name@version", by name then version): what the Dom0
    // report says is pre-copied on this host. Takes the store's lock.
    std::vector<std::string> held();

    // One pre-copy: the first hot template the store lacks whose backing it holds, whose
    // server listens (delta given) and which is not waiting after a failure; none before a
    // key is known. Returns whether it tried one (the thread's step; tests call it directly).
    bool precopy_next();
    // Disposes of cold templates now (the thread's hourly step). Nothing before the first
    // hot list.
    Result<std::vector<vmhost::TemplateInfo>> dispose();

  private:
    struct Failure {
        int count = 0;
        base::Clock::time_point retry_at{};
    };
    void run();
    bool blocks_locked(const std::string& ref) const;
    void keep_received_key(const std::string& pem);
    void log(const std::string& line) const;
    base::Clock& clock() const { return options_.clock ? *options_.clock : base::real_clock(); }

    vmhost::TemplateStore& store_;
    TemplateWorkerOptions options_;
    std::mutex store_mu_;       // the store; taken before mu_, never while waiting on cv_
    std::mutex key_mu_;         // the two below; taken before mu_, never with store_mu_
    std::string kept_key_pem_;  // what received_key_file holds ("" before the first write)
    std::string key_error_;     // the last failure to write it, logged once
    std::mutex mu_;             // everything below
    std::string key_file_;      // the key pre-copy checks against: pinned, else kept; "" none yet
    std::condition_variable cv_;
    bool have_hot_ = false;
    HotTemplates hot_;
    std::string in_flight_;  // the template being received, or ""
    std::map<std::string, Failure> failures_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace provisioner::agent
