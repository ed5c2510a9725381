// The template store's index file (templates.json) to and from TemplateInfo records.
// Private to provisioner/vmhost.
#pragma once

#include <string>
#include <vector>

#include "provisioner/status.h"
#include "provisioner/vmhost/template_ref.h"

namespace provisioner::vmhost {

std::string index_to_json(const std::vector<TemplateInfo>& templates);

// storage, naming the file, if text is not a valid index (bad JSON, a missing field, a bad
// name, version, label or file name).
Result<std::vector<TemplateInfo>> index_from_json(const std::string& text,
                                                  const std::string& file_name);

}  // namespace provisioner::vmhost
