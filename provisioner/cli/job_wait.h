// Waiting for a long operation the API runs as a job (template add, image import): the POST
// answers 202 with the job; the CLI asks GET /api/v1/jobs/{id} until it ends, so the command
// still ends with the operation's own result or error, as when the server answered at once.
#pragma once

#include "api_client.h"
#include "session.h"

namespace provisioner::cli {

// How often a running job is asked about.
inline constexpr std::chrono::milliseconds kJobInterval{250};

// started: what the POST answered. A job (an object with "location" under /api/v1/jobs/) is
// followed until it ends: its "result" when it succeeded; when it failed, its error as the
// operation's endpoint would have answered it (status, code, message). Anything else is
// returned as it is. On a terminal the job's stage and progress are drawn on stderr, in place,
// and cleared at the end. A transport failure is retried kTransportRetries times in a row.
ApiResult wait_for_job(const Session& session, ApiResult started);

}  // namespace provisioner::cli
