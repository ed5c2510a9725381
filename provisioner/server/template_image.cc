#include "template_image.h"

#include <system_error>

#include "imaging/pack.h"
#include "imaging/signing.h"

namespace provisioner::server {

namespace fs = std::filesystem;

fs::path template_image_dir(const fs::path& templates_dir, const std::string& ref) {
    return templates_dir / (ref + ".image");
}

Status pack_template_image(const fs::path& file, const fs::path& templates_dir,
                           const std::string& name, const std::string& version,
                           const fs::path& key_file, const PackProgress& progress) {
    const std::string ref = name + "@" + version;
    const fs::path dir = template_image_dir(templates_dir, ref);
    const std::string what = "packing template " + ref + " as an image";
    std::error_code ec;
    if (fs::exists(dir, ec))
        return Status::error(Code::conflict, what + ": " + dir.string() + " exists already");
    auto key = imaging::SigningKey::load(key_file);
    if (!key) return Status::error(Code::storage, what + ": " + key.status().message());
    const fs::path partial = dir.string() + ".partial";
    fs::remove_all(partial, ec);
    imaging::PackOptions options;
    options.name = name;
    options.version = version;
    if (progress) options.on_progress = progress;
    auto packed = imaging::pack_image(file, partial, *key, options);
    Status s = packed ? Status::ok()
                      : Status::error(Code::storage, what + ": " + packed.status().message());
    if (s) {
        fs::rename(partial, dir, ec);
        if (ec)
            s = Status::error(Code::storage,
                              what + ": renaming to " + dir.string() + ": " + ec.message());
    }
    if (!s) fs::remove_all(partial, ec);
    return s;
}

void remove_template_image(const fs::path& templates_dir, const std::string& ref) {
    std::error_code ec;
    fs::remove_all(template_image_dir(templates_dir, ref), ec);
}

}  // namespace provisioner::server
