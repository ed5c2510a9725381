// Templates a Dom0 agent lacks, fetched from provisionerd's catalog (GET
// /api/v1/agent/templates/NAME@VERSION and .../file, provisioner/API.md), checked against the
// record's size and SHA-256, and added to the host's template store, backing templates first.
#pragma once

#include <string>

#include "provisioner/agent/server_client.h"
#include "provisioner/status.h"
#include "provisioner/vmhost/template_store.h"

namespace provisioner::agent {

class ServerTemplates {
  public:
    // base_url and token as ServerClient's; http is the seam tests answer through.
    ServerTemplates(std::string base_url, std::string token,
                    HttpFunction http = imaging::http::http_request);

    // Makes sure the template ref names is in store. Only an exact NAME@VERSION (what the
    // server sends) is fetched; any other reference, or one the store holds, is left to the
    // store. not_found when the server has no such template; invalid_argument when the file
    // does not match its record; storage when the server cannot be reached. A failed fetch
    // leaves nothing in the store but the backing templates it completed.
    Status ensure(const std::string& ref, vmhost::TemplateStore& store);

  private:
    Status fetch(const std::string& id, vmhost::TemplateStore& store, int depth);
    imaging::http::ClientResponse get(const std::string& path, std::size_t max_body) const;

    std::string base_url_;
    std::string token_;
    HttpFunction http_;
};

}  // namespace provisioner::agent
