#include "provisioner/vmhost/qemu_img.h"
#include "base/json.h"

#include <nlohmann/json.hpp>

namespace provisioner::vmhost {

namespace {

// One object per layer of the chain: a deep chain is long, not deep.
const base::JsonLimits kQemuImgLimits{16 << 20, 16};

}  // namespace

Status QemuImg::run(const std::vector<std::string>& args, std::string* out) {
    std::vector<std::string> argv{program_};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = runner_.run(argv);
    if (!r) return r.status().context(command_line(argv));
    if (r->exit_code != 0) return base::exit_error(argv, *r, Code::storage);
    if (out) *out = std::move(r->out);
    return Status::ok();
}

Status QemuImg::create_overlay(const std::string& backing, const std::string& backing_format,
                               const std::filesystem::path& path) {
    return run({"create", "-q", "-f", "qcow2", "-b", backing, "-F", backing_format, path.string()},
               nullptr);
}

Status QemuImg::set_backing(const std::filesystem::path& path, const std::string& backing,
                            const std::string& backing_format) {
    return run({"rebase", "-u", "-f", "qcow2", "-b", backing, "-F", backing_format, path.string()},
               nullptr);
}

Status QemuImg::create(const std::filesystem::path& path, const std::string& format,
                       std::uint64_t size_bytes) {
    return run({"create", "-q", "-f", format, path.string(), std::to_string(size_bytes)}, nullptr);
}

Status QemuImg::convert(const std::filesystem::path& src, const std::filesystem::path& dst,
                        const std::string& format) {
    return run({"convert", "-O", format, src.string(), dst.string()}, nullptr);
}

Result<std::vector<ImageLayer>> QemuImg::backing_chain(const std::filesystem::path& path) {
    std::string out;
    // -U: the image may be open in a running VM, which holds qemu's write lock on it.
    if (Status s = run({"info", "-U", "--output=json", "--backing-chain", path.string()}, &out); !s)
        return s;
    auto doc = base::parse_json(out, kQemuImgLimits).value;
    if (doc.is_discarded() || !doc.is_array())
        return Status::error(Code::storage, "qemu-img info " + path.string() + ": not a JSON list");
    std::vector<ImageLayer> chain;
    for (const auto& j : doc) {
        ImageLayer layer;
        layer.filename = j.value("filename", "");
        layer.format = j.value("format", "");
        layer.virtual_size = j.value("virtual-size", std::uint64_t(0));
        layer.backing_filename = j.value("backing-filename", "");
        chain.push_back(std::move(layer));
    }
    return chain;
}

}  // namespace provisioner::vmhost
