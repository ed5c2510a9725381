// /api/v1/jobs/{job}: how a long operation the API started is getting on (jobs.h).
#include <charconv>

#include "api_routes.h"
#include "api_support.h"

namespace provisioner::server {

using nlohmann::json;

json job_json(const JobView& job) {
    json out = {{"id", job.id},
                {"kind", job.kind},
                {"what", job.what},
                {"state", to_string(job.state)},
                {"progress", {{"stage", job.stage}, {"done", job.done}, {"total", job.total}}},
                {"created_at", job.created_at}};
    if (job.finished_at != 0) out["finished_at"] = job.finished_at;
    if (job.state == JobState::succeeded) out["result"] = job.result;
    if (job.state == JobState::failed) {
        // The error as the operation's own endpoint would have answered it.
        Response as_answer = status_response(Request{}, job.error);
        json error = json::parse(as_answer.body(), nullptr, false);
        out["error"] = error.is_object() ? error["error"] : json(job.error.message());
        out["error"]["status"] = as_answer.result_int();
    }
    return out;
}

Response job_started(ApiContext& ctx, const Request& req, std::string kind, std::string what,
                     JobWork work) {
    auto id = ctx.jobs->start(std::move(kind), std::move(what), std::move(work));
    if (!id) {
        auto busy = error_response(req, status::service_unavailable, "unavailable",
                                   "too many jobs are waiting; retry shortly");
        busy.set(imaging::http::bhttp::field::retry_after, "5");
        return busy;
    }
    const std::string location = "/api/v1/jobs/" + std::to_string(*id);
    json body = job_json(*ctx.jobs->get(*id));
    body["location"] = location;
    auto res = json_response(req, status::accepted, body);
    res.set(imaging::http::bhttp::field::location, location);
    return res;
}

namespace handlers {

Reply show_job(ApiContext& ctx, const Call& c) {
    const std::string text = c.param("job");
    JobId id = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    std::optional<JobView> job;
    if (ec == std::errc() && end == text.data() + text.size()) job = ctx.jobs->get(id);
    if (!job)
        return error_response(c.req, status::not_found, "not_found",
                              "no job " + text + " (jobs are forgotten when the server restarts)");
    return json_response(c.req, status::ok, job_json(*job));
}

}  // namespace handlers

}  // namespace provisioner::server
