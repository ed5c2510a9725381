// The web UI's side of the API: a browser's session cookie standing in for an operator
// token (ui_sessions.h), checked by the route table for every operator route.
#pragma once

#include <optional>

#include "api.h"
#include "api_support.h"

namespace provisioner::server {

// When req carries no Authorization header but a session cookie that is still good: who
// becomes the operator token the session was opened with. A request that may change state
// (any method but GET and HEAD) must then carry the session's X-CSRF-Token, else the 403 to
// answer is returned. Without a cookie, or with a stale one, who is left as it is.
std::optional<Response> admit_session(ApiContext& ctx, const Request& req, Principal& who);

}  // namespace provisioner::server
