// GET /metrics: Prometheus' scrape of the inventory and the Dom0 agents' latest reports
// (metrics_text.h), behind the operator token (Prometheus sends it as a bearer token).
// A small text (up to kBuffered bytes) is one answer with its length; a larger one (a site of
// thousands of hosts: hundreds of MiB) is streamed as it is written, a piece at a time, so the
// server never holds the whole text and the first bytes leave at once.
#include <mutex>

#include "api_metrics_server.h"
#include "api_routes.h"
#include "api_support.h"
#include "imaging/http/query.h"
#include "imaging/http/stream.h"
#include "metrics_text.h"

namespace provisioner::server {
namespace {

constexpr std::size_t kBuffered = 1 << 20;
constexpr std::size_t kPiece = 256 * 1024;

// The rest of a large scrape: the writer's pieces, then the server's own series (gathered
// on the worker before the answer began: they read the store).
class MetricsStream : public imaging::http::StreamSource {
  public:
    MetricsStream(std::unique_ptr<MetricsTextWriter> writer, std::string first, std::string tail)
        : writer_(std::move(writer)), first_(std::move(first)), tail_(std::move(tail)) {}

    void next(Deliver deliver) override {
        std::optional<std::string> piece;
        {
            std::lock_guard lock(mu_);
            if (!first_.empty()) {
                piece = std::move(first_);
                first_.clear();
            } else if (writer_) {
                piece.emplace();
                piece->reserve(kPiece + 4096);
                if (!writer_->write(*piece, kPiece)) {
                    writer_.reset();  // the snapshot goes as soon as its last line is out
                    *piece += tail_;
                    tail_.clear();
                }
            }
        }
        deliver(std::move(piece));
    }
    void cancel() override {
        std::lock_guard lock(mu_);
        writer_.reset();
    }

  private:
    std::mutex mu_;
    std::unique_ptr<MetricsTextWriter> writer_;
    std::string first_, tail_;
};

}  // namespace

namespace handlers {

Reply metrics(ApiContext& ctx, const Call& c) {
    auto snapshot = std::make_shared<MetricsSnapshot>();
    snapshot->version = ctx.version;
    const std::string_view target(c.req.target().data(), c.req.target().size());
    auto query = imaging::http::parse_query(target);
    if (!query)
        return status_response(c.req, Status::error(Code::invalid_argument, "malformed query"));
    const auto devices = imaging::http::query_value(*query, "vm_devices").value_or("0");
    if (devices != "0" && devices != "1")
        return status_response(c.req, Status::error(Code::invalid_argument,
                                                    "vm_devices: want 0 or 1, not '" + devices + "'"));
    snapshot->vm_devices = devices == "1";
    auto hosts = ctx.store.list_hosts(HostFilter{});
    if (!hosts) return status_response(c.req, hosts.status());
    snapshot->hosts = std::move(*hosts);
    if (ctx.monitor) snapshot->metrics = ctx.monitor->latest_metrics();
    snapshot->reports = ctx.vms.reports();
    if (ctx.vm_metrics) snapshot->vm_metrics = ctx.vm_metrics->snapshot();
    // Written last, gathered now: the server's and the inventory's series read the store.
    std::string tail;
    if (Status s = append_server_metrics(ctx, snapshot->hosts, snapshot->reports, tail); !s)
        return status_response(c.req, s);

    auto writer = std::make_unique<MetricsTextWriter>(std::move(snapshot));
    std::string text;
    const char* type = "text/plain; version=0.0.4; charset=utf-8";
    if (!writer->write(text, kBuffered)) {
        text += tail;
        return imaging::http::make_response(c.req, imaging::http::bhttp::status::ok,
                                            std::move(text), type);
    }
    imaging::http::Response head{imaging::http::bhttp::status::ok, c.req.version()};
    head.set(imaging::http::bhttp::field::content_type, type);
    return imaging::http::StreamResponse{
        std::move(head),
        std::make_shared<MetricsStream>(std::move(writer), std::move(text), std::move(tail))};
}

}  // namespace handlers

}  // namespace provisioner::server
