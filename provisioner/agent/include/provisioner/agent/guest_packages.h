// Service packages from provisionerd, for the guest agent (provisioner/API.md "Services in
// VMs"): a package's signed record (wire::PackageRecord) and its file, checked against the
// site key pinned in the VM's template (images/build-guest --site-key) before anything runs it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "imaging/signing.h"
#include "imaging/status.h"
#include "provisioner/agent/server_client.h"
#include "provisioner/wire/guest.h"

namespace provisioner::agent {

// Abstract so that the guest agent's tests can hand it packages without a server.
class PackageSource {
  public:
    virtual ~PackageSource() = default;
    // The server's record of package, checked: nullopt when the server has no such package
    // for this VM (the agent then installs from its mirror); an error when the server cannot
    // be asked, or its record is malformed or not signed by the pinned key.
    virtual imaging::Result<std::optional<wire::PackageRecord>> lookup(
        const std::string& package) = 0;
    // Downloads record's file into dir (created) as NAME.deb, whole and matching record's size
    // and SHA-256, or an error naming what did not match; returns its path.
    virtual imaging::Result<std::filesystem::path> download(const wire::PackageRecord& record,
                                                            const std::filesystem::path& dir) = 0;
};

// From provisionerd: GET /api/v1/guest/vms/{vm}/packages/{package}[/file] with the guest token.
class ServerPackages : public PackageSource {
  public:
    // key_file: the pinned site key (PEM). A missing or unreadable key makes every lookup an
    // error that says so: a guest never installs what it cannot check.
    ServerPackages(std::string base_url, std::string vm, std::string token,
                   std::filesystem::path key_file, HttpFunction http = imaging::http::http_request);

    imaging::Result<std::optional<wire::PackageRecord>> lookup(const std::string& package) override;
    imaging::Result<std::filesystem::path> download(const wire::PackageRecord& record,
                                                    const std::filesystem::path& dir) override;

  private:
    imaging::http::ClientResponse get(const std::string& path, std::size_t max_body) const;
    std::string base_url_, vm_, token_;
    std::filesystem::path key_file_;
    HttpFunction http_;
};

}  // namespace provisioner::agent
