#include "template_command.h"

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "provisioner/vmhost/process.h"
#include "provisioner/vmhost/qemu_img.h"
#include "provisioner/vmhost/template_store.h"

namespace provisioner::agent {

int cmd_template(int argc, char** argv) {
    CLI::App app{"This host's template store."};
    app.name("provisioner-agent template");
    app.require_subcommand(1);
    CLI::App* add = app.add_subcommand("add", "register an image file as a template");
    std::string dir = "/var/lib/provisioner/templates", file, mode = "copy";
    provisioner::vmhost::TemplateSpec spec;
    add->add_option("--templates", dir, "the template store")->capture_default_str();
    add->add_option("--name", spec.name, "template name")->required();
    add->add_option("--version", spec.version, "template version")->required();
    add->add_option("--label", spec.labels, "a label (repeatable)");
    add->add_option("--parent", spec.parent, "NAME@VERSION this qcow2 image is an overlay of");
    add->add_option("--format", spec.format, "raw or qcow2 (default: what qemu-img finds)");
    add->add_option("--mode", mode, "copy, link or move the file in")
        ->capture_default_str()
        ->check(CLI::IsMember({"copy", "link", "move"}));
    add->add_option("FILE", file, "the image")->required();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    using namespace provisioner::vmhost;
    auto runner = make_process_runner();
    if (spec.format.empty()) {
        auto chain = QemuImg(*runner).backing_chain(file);
        if (!chain || chain->empty()) {
            std::cerr << "agent: error: " << (chain ? "no image" : chain.status().message())
                      << "\n";
            return 1;
        }
        spec.format = chain->front().format;
    }
    TemplateStoreOptions store_options;
    store_options.runner = runner.get();
    auto store = TemplateStore::open(dir, store_options);
    if (!store) {
        std::cerr << "agent: error: " << store.status().message() << "\n";
        return 1;
    }
    AddMode how = mode == "move"   ? AddMode::move
                  : mode == "link" ? AddMode::hard_link
                                   : AddMode::copy;
    auto added = (*store)->add(spec, file, how);
    if (!added) {
        std::cerr << "agent: error: " << added.status().message() << "\n";
        return 1;
    }
    std::cout << added->id() << " " << (*store)->path_of(*added).string() << std::endl;
    return 0;
}

}  // namespace provisioner::agent
