// Templates as SO-MVDS's template sharing model names them: a name, a version, labels, and
// the parent a template is an incremental (copy-on-write) image of; and how a reference picks
// one: "name", "name@version", or a label query "label=web" / "label=web,debian" (all given
// labels). A reference without a version takes the most recently used match, else the one
// with the newest version (then the most recently added).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "provisioner/status.h"

namespace provisioner::vmhost {

struct TemplateInfo {
    std::string name;                 // [A-Za-z0-9._-], not starting with '.' or '-'
    std::string version;              // same characters; compared as a version ("1.10" > "1.9")
    std::vector<std::string> labels;  // sorted, unique; [A-Za-z0-9._:/+-]
    std::string parent;      // id() of the template this one is a qcow2 overlay of; empty at a base
    std::string format;      // raw or qcow2
    std::string file;        // file name inside the store's directory
    std::int64_t added = 0;  // unix seconds
    std::int64_t last_used = 0;  // unix seconds; 0 if never used
    std::uint64_t use_count = 0;

    std::string id() const { return name + "@" + version; }
};

struct TemplateRef {
    std::string name;                 // set unless labels are
    std::string version;              // empty: choose among the versions
    std::vector<std::string> labels;  // a label query: templates carrying all of them

    std::string str() const;
};

// invalid_argument for an empty reference, bad characters, "name@", "label=" and the like.
Result<TemplateRef> parse_template_ref(const std::string& text);

bool valid_template_name(const std::string& s);  // also the rule for versions
bool valid_label(const std::string& s);

// <0, 0, >0 like strcmp; digit runs compare as numbers, so "2" < "10" and "1.9" < "1.10".
int compare_versions(const std::string& a, const std::string& b);

// The template ref picks from all (not_found naming the reference, and for a name with an
// unknown version the versions there are).
Result<TemplateInfo> choose_template(const std::vector<TemplateInfo>& all, const TemplateRef& ref);

}  // namespace provisioner::vmhost
