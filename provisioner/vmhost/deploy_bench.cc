// The deploy benchmark (SO-MVDS's Figures 7 and 9): N VMs from one template, each disk made
// as a qcow2 overlay or as a full copy, each VM defined and started through libvirt. Prints
// a table and the ratio copies/overlays. tests/bench/deploy runs it; see tests/bench/README.md.
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "provisioner/vmhost/hypervisor.h"
#include "provisioner/vmhost/template_store.h"

namespace fs = std::filesystem;
using namespace provisioner;
using namespace provisioner::vmhost;

namespace {

struct Options {
    fs::path template_image;
    fs::path work = "/var/tmp/provisioner-deploy-bench";
    std::string uri = "test:///default";
    int vms = 40;
    std::string only;  // overlay or copy
    bool drop_caches = true;
};

struct Row {
    std::string method;
    double seconds = 0;
    std::uint64_t disk_bytes = 0;
    int running = 0;
};

[[noreturn]] void die(const std::string& message) {
    std::fprintf(stderr, "vmhost-deploy-bench: %s\n", message.c_str());
    std::exit(1);
}

void check(const Status& s) {
    if (!s) die(s.message());
}

// "qcow2" for a file that starts with qcow2's magic (QFI\xfb), else "raw": the template's format
// as the store records it, so overlays name it (-F) and a full copy of a qcow2 template is
// qemu-img convert, as create_full_copy does for it on a host.
std::string image_format(const fs::path& p) {
    char magic[4] = {};
    std::ifstream in(p, std::ios::binary);
    in.read(magic, sizeof magic);
    return in && std::memcmp(magic, "QFI\xfb", 4) == 0 ? "qcow2" : "raw";
}

std::uint64_t allocated_bytes(const fs::path& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 ? std::uint64_t(st.st_blocks) * 512 : 0;
}

std::string human(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) bytes /= 1024, ++u;
    char buf[32];
    std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
    return buf;
}

// Every method starts from a cold page cache, as a host deploying a VM would.
void drop_caches(bool enabled) {
    ::sync();
    if (!enabled) return;
    std::ofstream("/proc/sys/vm/drop_caches") << "3\n";
}

Row deploy(TemplateStore& store, Hypervisor& hv, const Options& o, const std::string& label,
           const std::string& ref, bool overlay) {
    const std::string tag = overlay ? "ov" : "cp";
    const fs::path vm_dir = o.work / "vms";
    fs::create_directories(vm_dir);
    std::vector<std::string> names;
    std::vector<fs::path> disks;
    drop_caches(o.drop_caches);
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < o.vms; ++i) {
        VmSpec spec;
        spec.name = "bench-" + tag + "-" + std::to_string(i);
        spec.vcpus = 1;
        spec.memory_mib = 512;
        char mac[18];
        std::snprintf(mac, sizeof mac, "52:54:00:be:%02x:%02x", overlay ? 0 : 1, i & 0xff);
        spec.interfaces = {{mac, "default", "", {}}};
        fs::path path = vm_dir / (spec.name + (overlay ? ".qcow2" : ".img"));
        auto disk = overlay ? store.create_overlay(ref, path) : store.create_full_copy(ref, path);
        if (!disk) die(disk.status().message());
        spec.disk = *disk;
        disks.push_back(path);
        check(hv.create(spec));
        names.push_back(spec.name);
    }
    auto t1 = std::chrono::steady_clock::now();
    Row row{label, std::chrono::duration<double>(t1 - t0).count(), 0, 0};
    for (const auto& d : disks) row.disk_bytes += allocated_bytes(d);
    auto listed = hv.list();
    if (!listed) die(listed.status().message());
    for (const auto& d : *listed)
        if (d.name.rfind("bench-" + tag + "-", 0) == 0 && d.state == DomainState::running)
            ++row.running;
    for (const auto& n : names) check(hv.destroy(n));
    for (const auto& d : disks) fs::remove(d);
    return row;
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) die(a + " needs a value");
            return argv[++i];
        };
        if (a == "--template")
            o.template_image = next();
        else if (a == "--work")
            o.work = next();
        else if (a == "--uri")
            o.uri = next();
        else if (a == "--vms")
            o.vms = std::stoi(next());
        else if (a == "--only")
            o.only = next();
        else if (a == "--no-drop-caches")
            o.drop_caches = false;
        else
            die("usage: vmhost-deploy-bench --template RAW|QCOW2 [--vms N] [--uri URI] [--work "
                "DIR] "
                "[--only overlay|copy] [--no-drop-caches]");
    }
    if (o.template_image.empty()) die("--template RAW|QCOW2 is required");
    if (o.only != "" && o.only != "overlay" && o.only != "copy") die("--only overlay|copy");
    if (o.vms < 1 || o.vms > 255) die("--vms must be 1..255");
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    Options o = parse(argc, argv);
    std::error_code ec;
    fs::remove_all(o.work, ec);
    fs::create_directories(o.work);
    auto store = TemplateStore::open(o.work / "templates");
    if (!store) die(store.status().message());
    // The template enters the store as a hard link when it can (no 2 GiB copy to set up).
    const std::string format = image_format(o.template_image);
    auto base =
        (*store)->add({"bench", "1", {"bench"}, "", format}, o.template_image, AddMode::hard_link);
    if (!base)
        base =
            (*store)->add({"bench", "1", {"bench"}, "", format}, o.template_image, AddMode::copy);
    if (!base) die(base.status().message());
    auto app = (*store)->add_overlay({"bench-app", "1", {"bench"}, "bench@1", "qcow2"});
    if (!app) die(app.status().message());
    auto hv = open_libvirt(o.uri);
    if (!hv) die(hv.status().message());

    struct statfs sfs;
    ::statfs(o.work.c_str(), &sfs);
    const fs::path tpath = (*store)->path_of(*base);
    std::printf(
        "deploy: %d VMs from %s (%s, %s file, %s of data), libvirt %s, disks in %s "
        "(fs magic 0x%lx), page cache dropped before each method: %s\n\n",
        o.vms, o.template_image.filename().c_str(), format.c_str(),
        human(double(fs::file_size(tpath))).c_str(), human(double(allocated_bytes(tpath))).c_str(),
        o.uri.c_str(), o.work.c_str(), static_cast<unsigned long>(sfs.f_type),
        o.drop_caches ? "yes" : "no");

    std::vector<Row> rows;
    if (o.only != "copy") {
        rows.push_back(deploy(**store, **hv, o, "qcow2 overlay", "bench@1", true));
        rows.push_back(
            deploy(**store, **hv, o, "qcow2 overlay, 2-level template", "bench-app@1", true));
    }
    if (o.only != "overlay")
        rows.push_back(deploy(
            **store, **hv, o,
            format == "raw" ? "full copy (sparse copy_file_range)" : "full copy (qemu-img convert)",
            "bench@1", false));

    std::printf("%-36s %10s %12s %14s %8s\n", "method", "total s", "per VM ms", "disks written",
                "running");
    for (const auto& r : rows)
        std::printf("%-36s %10.3f %12.1f %14s %5d/%d\n", r.method.c_str(), r.seconds,
                    1000 * r.seconds / o.vms, human(double(r.disk_bytes)).c_str(), r.running,
                    o.vms);
    if (rows.size() == 3)
        std::printf("\ncopies/overlays: %.0fx (target: at least 10x)\n",
                    rows[2].seconds / rows[0].seconds);
    fs::remove_all(o.work, ec);
    return 0;
}
