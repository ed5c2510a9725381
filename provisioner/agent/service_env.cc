#include "provisioner/agent/service_env.h"

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <sstream>

#include "base/atomic_file.h"

namespace provisioner::agent {
namespace fs = std::filesystem;
using imaging::Result;
using imaging::Status;

bool is_safe_package_name(std::string_view package) {
    if (package.empty() || !std::isalnum(static_cast<unsigned char>(package[0]))) return false;
    for (char c : package) {
        bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '+' || c == '_' ||
                  c == '-';
        if (!ok) return false;
    }
    return true;
}

std::string environment_name(std::string_view parameter) {
    std::string name;
    for (char c : parameter) {
        unsigned char u = static_cast<unsigned char>(c);
        // Only ASCII letters and digits survive: isalnum would let a locale's letters through.
        bool keep = (u < 0x80 && std::isalnum(u)) || c == '_';
        name += keep ? static_cast<char>(std::toupper(u)) : '_';
    }
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) name.insert(0, "_");
    return name;
}

std::string single_quote(std::string_view value) {
    std::string quoted = "'";
    for (char c : value) {
        if (c == '\'')
            quoted += "'\"'\"'";
        else
            quoted += c;
    }
    return quoted + "'";
}

std::string render_environment_file(const ServiceParameters& parameters) {
    std::string text;
    for (const auto& [name, value] : parameters)
        text += environment_name(name) + "=" + single_quote(value) + "\n";
    return text;
}

fs::path environment_file(const fs::path& root, const std::string& package) {
    return root / "etc/provisioner/services" / (package + ".env");
}

Status write_file_atomically(const fs::path& file, std::string_view text) {
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    if (ec) return Status::error("creating " + file.parent_path().string() + ": " + ec.message());
    return base::write_file_atomically(file, text);
}

std::vector<std::string> install_command_words(std::string_view command, const std::string& package,
                                               const std::string& root, const std::string& env_file,
                                               const std::string& file) {
    const std::pair<std::string_view, const std::string&> placeholders[] = {
        {"{package}", package}, {"{root}", root}, {"{env}", env_file}, {"{file}", file}};
    std::vector<std::string> words;
    std::istringstream split{std::string(command)};
    for (std::string word; split >> word;) {
        std::string filled;
        for (std::size_t i = 0; i < word.size();) {
            bool replaced = false;
            for (const auto& [name, value] : placeholders) {
                if (std::string_view(word).substr(i).starts_with(name)) {
                    filled += value;
                    i += name.size();
                    replaced = true;
                    break;
                }
            }
            if (!replaced) filled += word[i++];
        }
        words.push_back(std::move(filled));
    }
    return words;
}

Result<std::string> find_program(const std::string& program) {
    if (program.empty()) return Status::error("the install command is empty");
    if (program.find('/') != std::string::npos) {
        std::error_code ec;
        if (::access(program.c_str(), X_OK) == 0 && !fs::is_directory(program, ec)) return program;
        return Status::error("the installer " + program + " is missing or not executable");
    }
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
    std::istringstream split(dirs);
    for (std::string dir; std::getline(split, dir, ':');) {
        fs::path candidate = fs::path(dir.empty() ? "." : dir) / program;
        std::error_code ec;
        if (::access(candidate.c_str(), X_OK) == 0 && !fs::is_directory(candidate, ec))
            return candidate.string();
    }
    return Status::error("the installer " + program + " is not on PATH (" + dirs + ")");
}

}  // namespace provisioner::agent
