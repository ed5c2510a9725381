#include "provisioner/wire/imaging_report.h"

#include "reader.h"

namespace provisioner::wire {

using detail::Need;
using detail::Reader;
using nlohmann::json;

json encode(const Progress& progress) {
    return {{"v", Progress::kVersion},
            {"deployment", progress.deployment},
            {"bytes_done", progress.bytes_done},
            {"bytes_total", progress.bytes_total}};
}

template <>
Result<Progress> decode<Progress>(const json& message) {
    Reader r(Progress::kName, message);
    Progress progress;
    r.version(Progress::kVersion);
    r.integer("deployment", progress.deployment, Need::required);
    r.unsigned_integer("bytes_done", progress.bytes_done, Need::required);
    r.unsigned_integer("bytes_total", progress.bytes_total, Need::required);
    return detail::finish(r, progress);
}

json encode(const ImagingResult& result) {
    json out = {
        {"v", ImagingResult::kVersion}, {"deployment", result.deployment}, {"ok", result.ok}};
    if (!result.error.empty()) out["error"] = result.error;
    if (!result.result.is_null()) out["result"] = result.result;
    return out;
}

template <>
Result<ImagingResult> decode<ImagingResult>(const json& message) {
    Reader r(ImagingResult::kName, message);
    ImagingResult result;
    r.version(ImagingResult::kVersion);
    r.integer("deployment", result.deployment, Need::required);
    r.boolean("ok", result.ok, Need::required);
    r.string("error", result.error, Need::optional);
    r.object("result", result.result, Need::optional);
    return detail::finish(r, std::move(result));
}

}  // namespace provisioner::wire
