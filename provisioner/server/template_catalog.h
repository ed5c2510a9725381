// The server's template catalog on top of the Store (SO-MVDS's template sharing model): adding
// a template from a file on the server, and resolving references, one at a time or for every
// VM of a site file. The catalog is the source of truth: a site that names a template it
// lacks is refused.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "provisioner/reconcile.h"
#include "provisioner/site.h"
#include "provisioner/status.h"
#include "provisioner/store.h"

namespace provisioner::server {

struct NewTemplate {
    std::string name;
    std::string version;
    std::vector<std::string> labels;
    std::string backing;           // name@version of the template it is an overlay of, or ""
    std::filesystem::path source;  // a file on the server
};

// How far an add is: stage "copying" (bytes of the source) then "packing" (raw bytes packed).
// Called on the adding thread.
using TemplateProgress =
    std::function<void(const std::string& stage, std::uint64_t done, std::uint64_t total)>;

// What add_template refuses before it reads the file: names, version and labels as template
// references spell them, an existing name@version (conflict), a backing template that does
// not exist (not_found). Cheap: no file is read.
Status check_new_template(Store& store, const NewTemplate& request);

// Checks the request (check_new_template; a qcow2 whose header names the backing's file
// NAME@VERSION.FORMAT, as a host's template store lays it out, and only with a backing),
// copies the file to dir/NAME@VERSION.FORMAT, packs the copy as an image signed with the key
// in signing_key (dir/NAME@VERSION.image, template_image.h) and records it. conflict for an
// existing name@version. Nothing is left behind on failure.
Result<Template> add_template(Store& store, const std::filesystem::path& dir,
                              const std::filesystem::path& signing_key, const NewTemplate& request,
                              const TemplateProgress& progress = {});

// Sorted and unique; invalid_argument naming a bad label.
Result<std::vector<std::string>> clean_labels(std::vector<std::string> labels);

// NAME@VERSION exactly; NAME or label=L[,L...]: the most recently used match, else the newest
// version. invalid_argument for a malformed reference, not_found naming it when nothing
// matches.
Result<Template> resolve_template(const std::vector<Template>& catalog, const std::string& ref);

struct SiteTemplates {
    site::Site site;                      // every VM's template reference made a name@version
    std::vector<site::Problem> problems;  // one per VM whose reference matches nothing
};

// Resolves each VM's template reference. A VM already running (in actual) on a catalog
// template that still satisfies its reference keeps that template, so that a new version or
// another template's more recent use never turns into a change of a running VM's disk.
SiteTemplates resolve_site_templates(const std::vector<Template>& catalog, site::Site site,
                                     const reconcile::ActualState& actual);

}  // namespace provisioner::server
