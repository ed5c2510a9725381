// Walks the parsed XML of a site file into a Site, collecting a Problem for everything that is
// wrong inside one element (unknown or repeated elements and attributes, bad values). What
// needs the whole site (duplicates, references, constraints) is checks.h's. Private.
#pragma once

#include <pugixml.hpp>
#include <vector>

#include "line_index.h"
#include "provisioner/site.h"

namespace provisioner::site {

void read_site(const pugi::xml_document& doc, const LineIndex& lines, Site& site,
               std::vector<Problem>& problems);

}  // namespace provisioner::site
