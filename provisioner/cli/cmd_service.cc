// service add | list | remove: the service packages provisionerd keeps and signs for the
// guests (SO-MVDS: submit a service package, get its access point). A site file's
// <SERVICE package="NAME"> is installed from here when the server has NAME, else by the guest's
// install command (apt-get from a mirror).
#include <filesystem>
#include <memory>

#include "commands.h"
#include "output/fields.h"
#include "output/format.h"
#include "output/table.h"

namespace provisioner::cli {
namespace {

int service_add(Session& s, const std::string& file) {
    // The server reads the file, as it does a template: the CLI usually runs there.
    std::string absolute = std::filesystem::absolute(file).lexically_normal().string();
    auto r = s.api().post("/api/v1/packages", {{"path", absolute}});
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    const auto& p = r.json();
    s.out() << "added service package " << text(field(p, "name")) << " "
            << text(field(p, "version")) << " (" << text(field(p, "architecture")) << ", "
            << format_bytes(field(p, "size")) << ", signed with the site key)\n";
    return kExitOk;
}

int service_list(Session& s) {
    auto r = s.api().get("/api/v1/packages");
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    const auto& packages = field(r.json(), "packages");
    if (packages.empty()) {
        s.err() << "no service packages; add one with: provisioner service add PKG.deb\n";
        return kExitOk;
    }
    Table table({"PACKAGE", "VERSION", "ARCH", "SIZE", "SHA256"});
    for (const auto& p : packages)
        table.add_row({text(field(p, "name")), text(field(p, "version")),
                       text(field(p, "architecture")), format_bytes(field(p, "size")),
                       text(field(p, "sha256")).substr(0, 16)});
    table.align_right(3);
    s.out() << table.render();
    return kExitOk;
}

int service_remove(Session& s, const std::string& name) {
    auto r = s.api().del("/api/v1/packages/" + path_segment(name));
    if (!r) return s.fail(r.error());
    if (s.json()) return s.print_json(r.json());
    s.out() << "removed service package " << text(field(r.json(), "name")) << "\n";
    return kExitOk;
}

}  // namespace

void add_service_commands(CLI::App& app, Action& chosen) {
    auto* service = app.add_subcommand(
        "service",
        "Service packages (.deb) the server keeps and signs, which guests install from it "
        "(a site file's <SERVICE package=\"NAME\">)");
    service->require_subcommand(1);

    auto file = std::make_shared<std::string>();
    auto* add = service->add_subcommand(
        "add",
        "Copy a .deb that is on the server (in an import directory) into the server's service "
        "packages, named by its Package field and signed with the site key; a name the server "
        "has is refused (remove it first)");
    add->add_option("PKG.deb", *file,
                    "the package file; a relative path is made absolute against this directory")
        ->required();
    on_run(add, chosen, [file](Session& s) { return service_add(s, *file); });

    auto* list = service->add_subcommand("list", "List the service packages")->alias("ls");
    on_run(list, chosen, [](Session& s) { return service_list(s); });

    auto name = std::make_shared<std::string>();
    auto* remove =
        service
            ->add_subcommand("remove",
                             "Remove a service package (guests that installed it keep it; "
                             "guests that still want it fall back to their install command)")
            ->alias("rm");
    remove->add_option("NAME", *name, "the package's name")->required();
    on_run(remove, chosen, [name](Session& s) { return service_remove(s, *name); });
}

}  // namespace provisioner::cli
