// The netboot initramfs as provisionerd serves it: the operator's initrd.img with a small
// uncompressed cpio archive appended (the kernel unpacks concatenated archives in order, later
// files over earlier ones), carrying the files every netboot agent must trust: the server's
// CA at /etc/provisioner/ca.crt and the site's public key at /etc/provisioner/site.pub. So
// an initramfs built once serves any server, and its agent verifies this server's HTTPS.
//
// It crosses the network over plain HTTP like everything firmware fetches: Secure Boot, which
// signs what the firmware loads, is what protects it on the wire (README).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "provisioner/status.h"

namespace provisioner::server {

struct InitrdFile {
    std::string path;  // inside the initramfs, without the leading '/': "etc/provisioner/ca.crt"
    std::string bytes;
    unsigned mode = 0644;
};

// A cpio archive in the kernel's "newc" format holding files (and the directories above
// them), ending with its TRAILER!!! entry.
std::string newc_archive(const std::vector<InitrdFile>& files);

// Writes original (padded with zeros to a 4-byte boundary) followed by newc_archive(files)
// to out, atomically. An error names the file that could not be read or written.
Status compose_initrd(const std::filesystem::path& original, const std::vector<InitrdFile>& files,
                      const std::filesystem::path& out);

}  // namespace provisioner::server
