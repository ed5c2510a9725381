#include "job_wait.h"

#include <string>

#include "commands.h"
#include "output/format.h"

namespace provisioner::cli {

namespace {

bool is_job(const nlohmann::json& body) {
    if (!body.is_object()) return false;
    auto location = body.find("location");
    return location != body.end() && location->is_string() &&
           location->get<std::string>().starts_with("/api/v1/jobs/");
}

// "copying 1.0 GiB of 4.0 GiB (25%)", or the stage alone while its size is unknown.
std::string progress_line(const nlohmann::json& job) {
    const nlohmann::json progress = job.value("progress", nlohmann::json::object());
    std::string line = job.value("what", std::string("job")) + ": ";
    std::string stage = progress.value("stage", std::string());
    line += stage.empty() ? job.value("state", std::string("queued")) : stage;
    const auto done = progress.value("done", std::uint64_t(0));
    const auto total = progress.value("total", std::uint64_t(0));
    if (total > 0) {
        line += " " + format_bytes(done) + " of " + format_bytes(total) + " (" +
                std::to_string(done * 100 / total) + "%)";
    }
    return line;
}

ApiError job_error(const nlohmann::json& job) {
    ApiError error;
    error.kind = ApiError::Kind::http;
    const nlohmann::json e = job.value("error", nlohmann::json::object());
    error.status = e.value("status", 500u);
    error.code = e.value("code", std::string());
    error.message = e.value("message", std::string("the job failed"));
    nlohmann::json document = e;
    document.erase("status");
    error.body = {{"error", document}};
    return error;
}

}  // namespace

ApiResult wait_for_job(const Session& s, ApiResult started) {
    if (!started || !is_job(started.json())) return started;
    const std::string location = started.json()["location"];
    const bool draw = s.env().out_is_tty;
    std::size_t drawn = 0;
    auto clear = [&] {
        if (drawn) s.err() << "\r" << std::string(drawn, ' ') << "\r" << std::flush;
        drawn = 0;
    };
    nlohmann::json job = started.json();
    int failures = 0;
    while (true) {
        const std::string state = job.value("state", std::string());
        if (state == "succeeded") {
            clear();
            return nlohmann::json(job.value("result", nlohmann::json()));
        }
        if (state == "failed") {
            clear();
            return job_error(job);
        }
        if (draw) {
            std::string line = progress_line(job);
            if (s.env().terminal_columns > 1 && line.size() >= s.env().terminal_columns)
                line.resize(s.env().terminal_columns - 1);
            s.err() << "\r" << line
                    << std::string(drawn > line.size() ? drawn - line.size() : 0, ' ')
                    << std::flush;
            drawn = line.size();
        }
        s.env().clock->sleep_for(kJobInterval);
        ApiResult next = s.api().get(location);
        if (!next) {
            if (next.error().kind == ApiError::Kind::transport && ++failures <= kTransportRetries)
                continue;
            clear();
            return next;
        }
        failures = 0;
        job = next.json();
    }
}

}  // namespace provisioner::cli
