// image import | list | show | remove
#include <filesystem>
#include <memory>

#include "commands.h"
#include "job_wait.h"
#include "output/fields.h"
#include "output/format.h"
#include "output/table.h"

namespace provisioner::cli {
namespace {

std::string image_path(const std::string& image) {
    return "/api/v1/images/" + path_segment(image);
}

// "dom0@2 (#1)"
std::string image_title(const nlohmann::json& image) {
    return image_label(image) + " (#" + text(field(image, "id")) + ")";
}

int image_import(Session& s, const std::string& path) {
    // The server reads the path; an absolute one means the same there when the CLI runs on
    // the provisioning server itself, which is the usual case.
    std::string absolute = std::filesystem::absolute(path).lexically_normal().string();
    // The server verifies every chunk as a job; this waits for it (progress on a terminal).
    auto r = wait_for_job(s, s.api().post("/api/v1/images", {{"path", absolute}}));
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    const auto& image = r.json();
    s.out() << "imported image " << image_title(image) << ": "
            << format_bytes(field(image, "raw_size")) << " raw, "
            << format_bytes(field(image, "stored_size")) << " stored\n";
    return kExitOk;
}

int image_list(Session& s) {
    auto r = s.api().get("/api/v1/images");
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    const auto& images = field(r.json(), "images");
    if (images.empty()) {
        s.err() << "no images; import one with: provisioner image import PATH\n";
        return kExitOk;
    }
    Table table({"ID", "NAME", "VERSION", "RAW", "STORED", "IMPORTED"});
    for (const auto& image : images) {
        table.add_row({text(field(image, "id")), text(field(image, "name")),
                       text(field(image, "version")), format_bytes(field(image, "raw_size")),
                       format_bytes(field(image, "stored_size")),
                       format_time(field(image, "imported_at"))});
    }
    table.align_right(0);
    table.align_right(3);
    table.align_right(4);
    s.out() << table.render();
    return kExitOk;
}

int image_show(Session& s, const std::string& ref) {
    auto r = s.api().get(image_path(ref));
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    const auto& image = r.json();
    s.out() << render_fields({
        {"id", text(field(image, "id"))},
        {"name", text(field(image, "name"))},
        {"version", text(field(image, "version"))},
        {"raw size", format_bytes(field(image, "raw_size"))},
        {"stored size", format_bytes(field(image, "stored_size"))},
        {"image sha256", text(field(image, "image_sha256"))},
        {"manifest sha256", text(field(image, "manifest_sha256"))},
        {"path", text(field(image, "path"))},
        {"imported", format_time(field(image, "imported_at"))},
    });
    return kExitOk;
}

int image_remove(Session& s, const std::string& ref) {
    auto r = s.api().del(image_path(ref));
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    s.out() << "removed image " << image_title(r.json()) << "\n";
    return kExitOk;
}

}  // namespace

void add_image_commands(CLI::App& app, Action& chosen) {
    auto* image = app.add_subcommand("image", "Import, list, inspect and remove images");
    image->require_subcommand(1);
    const char* kImageRef = "the image: its id, name@version, or name (the newest version)";

    auto path = std::make_shared<std::string>();
    auto* import = image->add_subcommand(
        "import", "Register a packed image (made by `imaging pack`) that is on the server");
    import
        ->add_option("PATH", *path,
                     "the image directory on the server; a relative path is made absolute "
                     "against this directory")
        ->required();
    on_run(import, chosen, [path](Session& s) { return image_import(s, *path); });

    auto* list = image->add_subcommand("list", "List images as a table")->alias("ls");
    on_run(list, chosen, [](Session& s) { return image_list(s); });

    auto show_ref = std::make_shared<std::string>();
    auto* show = image->add_subcommand("show", "Show one image");
    show->add_option("IMAGE", *show_ref, kImageRef)->required();
    on_run(show, chosen, [show_ref](Session& s) { return image_show(s, *show_ref); });

    auto remove_ref = std::make_shared<std::string>();
    auto* remove =
        image->add_subcommand("remove", "Remove an image (refused while a deployment uses it)")
            ->alias("rm");
    remove->add_option("IMAGE", *remove_ref, kImageRef)->required();
    on_run(remove, chosen, [remove_ref](Session& s) { return image_remove(s, *remove_ref); });
}

}  // namespace provisioner::cli
