// How the guest agent hands a service its parameters: an environment file that both `sh`
// (`. FILE`) and systemd's EnvironmentFile= read, the same names in the installer's
// environment, and the install command's words with their placeholders filled in.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "imaging/status.h"

namespace provisioner::agent {

// A service's parameters in the site's order: {name, value}.
using ServiceParameters = std::vector<std::pair<std::string, std::string>>;

// [A-Za-z0-9][A-Za-z0-9.+_-]*: every Debian package name, and safe as a file name.
bool is_safe_package_name(std::string_view package);

// The variable a parameter becomes: upper-cased, every character outside [A-Z0-9_] turned
// into '_', a leading digit (or an empty name) prefixed with '_': "listen-port" -> LISTEN_PORT.
std::string environment_name(std::string_view parameter);

// 'value' with each ' written as '"'"'. sh and systemd's EnvironmentFile= both read it back as
// the value; the usual '\'' is not for systemd, whose parser takes quotes as literal
// characters once an unquoted \' has been read (src/basic/env-file.c).
std::string single_quote(std::string_view value);

// One NAME='value' line per parameter.
std::string render_environment_file(const ServiceParameters& parameters);

// ROOT/etc/provisioner/services/PACKAGE.env
std::filesystem::path environment_file(const std::filesystem::path& root,
                                       const std::string& package);

// Writes FILE.tmp, fsyncs it, renames it over FILE and fsyncs the directory, creating the
// directories first: a reader sees the old file or the new one, never part of one.
imaging::Status write_file_atomically(const std::filesystem::path& file, std::string_view text);

// The command split on whitespace (no shell, no quoting), with {package}, {root}, {env} and
// {file} (a package file downloaded from the server) replaced inside each word.
std::vector<std::string> install_command_words(std::string_view command, const std::string& package,
                                               const std::string& root, const std::string& env_file,
                                               const std::string& file = {});

// The program a command would run: PROGRAM itself when it holds a '/', else the first
// executable PROGRAM on $PATH. An error naming PROGRAM when there is none.
imaging::Result<std::string> find_program(const std::string& program);

}  // namespace provisioner::agent
