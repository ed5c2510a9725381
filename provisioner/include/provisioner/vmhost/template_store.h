// A host's template store: a directory of template images with an index (templates.json)
// of their names, versions, labels, parents and use times. VM disks are made from templates
// as qcow2 overlays (instant, SO-MVDS's incremental mechanism) or as full copies (the clone
// method it is measured against); cold templates are disposed of after a cool-down.
//
// Layout: DIR/NAME@VERSION.FORMAT for each image, DIR/templates.json for the index (written
// to a temporary file and renamed, so it is always whole). A template with a parent is a qcow2
// overlay whose backing file is the parent's file name, relative, so that a store's files can
// be copied to another host as they are. VM disks name their template by absolute path.
//
// Every operation either completes or leaves the store and the file system as they were.
// Not thread-safe, and one TemplateStore per directory: the host's agent owns it.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "provisioner/status.h"
#include "provisioner/vmhost/process.h"
#include "provisioner/vmhost/template_ref.h"
#include "provisioner/vmhost/vm_spec.h"

namespace provisioner::vmhost {

struct TemplateSpec {
    std::string name;
    std::string version;
    std::vector<std::string> labels;
    std::string parent;  // id (name@version) of the parent template, or empty for a base
    std::string format;  // raw or qcow2; a template with a parent is always qcow2
};

// How add() takes an image that is already on the host (pre-copied by an imaging transport).
enum class AddMode { move, hard_link, copy };

struct TemplateStoreOptions {
    ProcessRunner* runner = nullptr;  // default: a real one, owned by the store
    std::string qemu_img = "qemu-img";
    base::Clock* clock = nullptr;  // wall time of adds and uses; default: base::real_clock()
};

class TemplateStore {
  public:
    // Creates dir if needed and reads its index. storage if the index is unreadable.
    static Result<std::unique_ptr<TemplateStore>> open(const std::filesystem::path& dir,
                                                       TemplateStoreOptions options = {});
    ~TemplateStore();

    // Registers image as a template. conflict if name@version exists; not_found if the
    // parent does not; invalid_argument if the image is a qcow2 whose backing chain does not
    // start with the parent's file (or has a backing file and no parent is given).
    Result<TemplateInfo> add(const TemplateSpec& spec, const std::filesystem::path& image,
                             AddMode mode);
    // A new, empty incremental template on spec.parent (required): a qcow2 overlay in the
    // store, into which software is then installed (SO-MVDS's multi-level templates).
    Result<TemplateInfo> add_overlay(const TemplateSpec& spec);
    Status set_labels(const std::string& id, std::vector<std::string> labels);
    // Deletes a template's file and entry; conflict while another template is its child.
    Status remove(const std::string& id);

    Result<TemplateInfo> resolve(const std::string& ref) const;
    std::vector<TemplateInfo> list() const;  // by name, then version
    std::filesystem::path path_of(const TemplateInfo& t) const;
    const std::filesystem::path& dir() const { return dir_; }

    // A VM disk at disk_path (absent; conflict otherwise) as a qcow2 overlay on the template
    // ref resolves to, and records the use. The file appears only when it is complete.
    Result<DiskSpec> create_overlay(const std::string& ref, const std::filesystem::path& disk_path);
    // The same as a full copy: a sparse copy of a raw base template, else a flattening
    // `qemu-img convert` to qcow2. Records the use.
    Result<DiskSpec> create_full_copy(const std::string& ref,
                                      const std::filesystem::path& disk_path);

    // Removes the templates not used (nor added) within cool_down that back none of vm_disks
    // (checked through each disk's backing chain), are not in keep (ids) and back no remaining
    // template. Returns what was removed. If any existing disk's chain cannot be read, removes
    // nothing.
    Result<std::vector<TemplateInfo>> dispose_cold(
        std::chrono::seconds cool_down, const std::vector<std::filesystem::path>& vm_disks,
        const std::set<std::string>& keep = {});

  private:
    TemplateStore(std::filesystem::path dir, TemplateStoreOptions options);
    Status save(bool durable = true);
    Status record_use(const std::string& id);
    TemplateInfo* find(const std::string& id);
    std::int64_t unix_now() const;  // the clock's wall time, in seconds

    std::filesystem::path dir_;
    TemplateStoreOptions options_;
    std::unique_ptr<ProcessRunner> owned_runner_;
    std::vector<TemplateInfo> templates_;
};

}  // namespace provisioner::vmhost
