// TemplateStore: VM disks from templates, as overlays and as full copies.
#include <system_error>

#include "base/atomic_file.h"
#include "provisioner/vmhost/file_ops.h"
#include "provisioner/vmhost/qemu_img.h"
#include "provisioner/vmhost/template_store.h"

namespace provisioner::vmhost {

namespace fs = std::filesystem;

namespace {

enum class Method { overlay, full_copy };

// Both methods build the disk under a partial name, fsync it, then rename it into place; any
// failure removes the partial file, so a disk either exists whole or not at all. (The rename
// itself is not synced: after a crash the disk may be missing, never partial.)
Result<DiskSpec> make_disk(TemplateStore& store, ProcessRunner& runner,
                           const std::string& qemu_img_program, const TemplateInfo& t,
                           const fs::path& disk_path, Method method) {
    QemuImg qemu_img(runner, qemu_img_program);
    const fs::path base = store.path_of(t);
    const fs::path partial = partial_path(disk_path);
    DiskSpec disk{disk_path, "qcow2"};
    Status made;
    if (method == Method::overlay) {
        made = qemu_img.create_overlay(base.string(), t.format, partial);
    } else if (t.format == "raw" && t.parent.empty()) {
        disk.format = "raw";
        made = copy_sparse(base, partial);
    } else {
        made = qemu_img.convert(base, partial, "qcow2");
    }
    if (made) made = base::sync_path(partial);
    if (made) made = rename_no_replace(partial, disk_path);
    if (!made) {
        std::error_code ec;
        fs::remove(partial, ec);
        return made;
    }
    return disk;
}

}  // namespace

Result<DiskSpec> TemplateStore::create_overlay(const std::string& ref, const fs::path& disk_path) {
    const std::string what = "creating disk " + disk_path.string() + " on template " + ref;
    auto t = resolve(ref);
    if (!t) return t.status().context(what);
    std::error_code ec;
    const fs::path abs = fs::absolute(disk_path, ec);
    if (fs::exists(abs, ec)) return Status::error(Code::conflict, what + ": the disk exists");
    auto disk = make_disk(*this, *options_.runner, options_.qemu_img, *t, abs, Method::overlay);
    if (!disk) return disk.status().context(what);
    if (Status s = record_use(t->id()); !s) {
        fs::remove(abs, ec);
        return s.context(what);
    }
    return disk;
}

Result<DiskSpec> TemplateStore::create_full_copy(const std::string& ref,
                                                 const fs::path& disk_path) {
    const std::string what = "copying template " + ref + " to " + disk_path.string();
    auto t = resolve(ref);
    if (!t) return t.status().context(what);
    std::error_code ec;
    const fs::path abs = fs::absolute(disk_path, ec);
    if (fs::exists(abs, ec)) return Status::error(Code::conflict, what + ": the disk exists");
    auto disk = make_disk(*this, *options_.runner, options_.qemu_img, *t, abs, Method::full_copy);
    if (!disk) return disk.status().context(what);
    if (Status s = record_use(t->id()); !s) {
        fs::remove(abs, ec);
        return s.context(what);
    }
    return disk;
}

}  // namespace provisioner::vmhost
