#include "import_paths.h"

#include <system_error>

#include "config.h"

namespace provisioner::server {

namespace fs = std::filesystem;

namespace {

// Whether path lies in dir or is dir; both absolute and without "." or ".." components.
bool inside(const fs::path& path, const fs::path& dir) {
    auto p = path.begin();
    for (const fs::path& part : dir) {
        if (part.empty()) continue;  // the "" a trailing slash leaves
        if (p == path.end() || *p != part) return false;
        ++p;
    }
    return true;
}

// Each directory as written and as resolved (a directory named through a symlink is itself).
std::vector<fs::path> both_spellings(const std::vector<fs::path>& dirs) {
    std::vector<fs::path> out;
    for (const fs::path& d : dirs) {
        out.push_back(d.lexically_normal());
        std::error_code ec;
        fs::path real = fs::canonical(d, ec);
        if (!ec) out.push_back(real);
    }
    return out;
}

std::vector<fs::path> resolved_only(const std::vector<fs::path>& dirs) {
    std::vector<fs::path> out;
    for (const fs::path& d : dirs) {
        std::error_code ec;
        fs::path real = fs::canonical(d, ec);
        if (!ec) out.push_back(real);
    }
    return out;
}

bool inside_any(const fs::path& path, const std::vector<fs::path>& dirs) {
    for (const fs::path& d : dirs)
        if (inside(path, d)) return true;
    return false;
}

std::string listing(const std::vector<fs::path>& dirs) {
    std::string out;
    for (const fs::path& d : dirs) out += (out.empty() ? "" : ", ") + d.string();
    return out;
}

}  // namespace

std::vector<fs::path> import_directories(const ServerConfig& config) {
    std::vector<fs::path> dirs{config.state_dir / "import"};
    dirs.insert(dirs.end(), config.import_dirs.begin(), config.import_dirs.end());
    return dirs;
}

ImportPath check_import_path(const std::vector<fs::path>& dirs, const fs::path& state_dir,
                             std::string_view requested, bool directory_tree) {
    using Refusal = ImportPath::Refusal;
    const fs::path path(requested);
    const std::string where = " (the server reads imports only from " + listing(dirs) +
                              "; add one with --import-dir)";
    if (!path.is_absolute())
        return {Refusal::malformed, path.string() + " is not an absolute path", {}};
    for (const fs::path& part : path)
        if (part == "..")
            return {Refusal::malformed, path.string() + " has a \"..\" component", {}};
    if (!inside_any(path.lexically_normal(), both_spellings(dirs)))
        return {Refusal::outside, path.string() + " is outside the import directories" + where,
                {}};

    std::error_code ec;
    fs::path real = fs::canonical(path, ec);
    if (ec) return {Refusal::missing, "no file " + path.string() + " on the server", {}};
    const std::vector<fs::path> real_dirs = resolved_only(dirs);
    auto escapes = [&](const fs::path& p) {
        if (!inside_any(p, real_dirs)) return true;
        std::error_code state_ec;
        fs::path state = fs::canonical(state_dir, state_ec);
        if (state_ec || !inside(p, state)) return false;
        fs::path state_import = fs::canonical(state_dir / "import", state_ec);
        return state_ec || !inside(p, state_import);
    };
    if (escapes(real))
        return {Refusal::outside,
                path.string() + " resolves to " + real.string() +
                    ", outside the import directories" + where,
                {}};
    if (directory_tree && fs::is_directory(real, ec)) {
        for (auto it = fs::recursive_directory_iterator(real, ec);
             !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
            if (!it->is_symlink(ec)) continue;
            std::error_code link_ec;
            fs::path target = fs::canonical(it->path(), link_ec);
            if (link_ec || escapes(target))
                return {Refusal::outside,
                        it->path().string() + " in " + path.string() +
                            " is a symlink that leads outside the import directories" + where,
                        {}};
        }
        if (ec)
            return {Refusal::missing, "cannot read " + path.string() + ": " + ec.message(), {}};
    }
    return {Refusal::none, "", real};
}

}  // namespace provisioner::server
