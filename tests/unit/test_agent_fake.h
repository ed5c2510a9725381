// Canned HTTP answers for the agent tests' scripted servers.
#pragma once

#include <nlohmann/json.hpp>

#include "imaging/http/client.h"

namespace agent_test {

// A response with status and, unless null, body as JSON.
inline imaging::http::ClientResponse reply(unsigned status, const nlohmann::json& body = nullptr) {
    imaging::http::ClientResponse r;
    r.transport_ok = true;
    r.status = status;
    if (!body.is_null()) r.body = body.dump();
    return r;
}

// No response at all: the server cannot be reached.
inline imaging::http::ClientResponse unreachable() {
    imaging::http::ClientResponse r;
    r.error = "connect: Connection refused";
    return r;
}

}  // namespace agent_test
