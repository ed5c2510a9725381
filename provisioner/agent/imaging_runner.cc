#include "provisioner/agent/imaging_runner.h"
#include "base/json.h"

#include <iostream>

#include "base/process.h"

namespace provisioner::agent {

using imaging::Result;
using imaging::Status;
using json = nlohmann::json;

Result<std::vector<std::string>> build_receive_argv(const Job& job, const ReceiveTarget& target) {
    std::vector<std::string> argv{target.imaging, "receive", "--transport",
                                  wire::to_string(job.transport)};
    switch (job.transport) {
        case wire::Transport::delta:
            argv.insert(argv.end(), {"--from", job.delta_from});
            break;
        case wire::Transport::multicast:
            if (target.interface.empty())
                return Status::error("multicast needs the network interface towards the server");
            argv.insert(argv.end(), {"--interface", target.interface, "--group",
                                     job.multicast_group, "--port",
                                     std::to_string(job.multicast_port)});
            break;
        case wire::Transport::torrent:
            argv.insert(argv.end(), {"--torrent", job.torrent_url});
            // A swarm of certified peers (the torrent carries its CA): this host's certificate.
            if (!job.torrent_peer_cert.empty()) {
                if (target.peer_cert_file.empty())
                    return Status::error("the job's swarm certificate was not written out");
                argv.insert(argv.end(), {"--peer-cert", target.peer_cert_file});
            }
            break;
    }
    if (!target.secret_file.empty() && job.transport != wire::Transport::torrent)
        argv.insert(argv.end(), {"--secret-file", target.secret_file});
    if (!job.receiver_id.empty() && job.transport == wire::Transport::delta &&
        !target.secret_file.empty())
        argv.insert(argv.end(), {"--receiver-id", job.receiver_id});
    if (!job.receiver_id.empty() && job.transport == wire::Transport::multicast &&
        !target.receipt_key_file.empty())
        argv.insert(argv.end(),
                    {"--receiver-id", job.receiver_id, "--receipt-key-file", target.receipt_key_file});
    argv.insert(argv.end(),
                {"--output", target.disk, "--pubkey", target.pubkey_file, "--progress-json",
                 "--expect-sha256", job.image_sha256, "--expect-image",
                 job.image_name + (job.image_version.empty() ? "" : "@" + job.image_version)});
    return argv;
}

ImagingLine parse_imaging_line(std::string_view line) {
    ImagingLine out;
    if (!line.starts_with('{')) return out;
    json j = base::parse_json(line).value;
    if (!j.is_object()) return out;
    if (auto p = j.find("progress"); p != j.end() && j.size() == 1 && p->is_object()) {
        auto done = p->find("bytes_done"), total = p->find("bytes_total");
        if (done == p->end() || total == p->end() || !done->is_number_unsigned() ||
            !total->is_number_unsigned())
            return out;
        out.kind = ImagingLine::Kind::progress;
        out.bytes_done = done->get<std::uint64_t>();
        out.bytes_total = total->get<std::uint64_t>();
        return out;
    }
    if (auto ok = j.find("ok"); ok != j.end() && ok->is_boolean()) {
        out.kind = ImagingLine::Kind::result;
        out.result = std::move(j);
    }
    return out;
}

bool ImagingOutcome::verified() const {
    return exit_status == 0 && result && result->value("ok", false);
}

std::string ImagingOutcome::error() const {
    if (exit_status == 0 && !result) return "imaging printed no result line";
    if (!last_error_line.empty()) return last_error_line;
    if (result && result->contains("error") && (*result)["error"].is_string())
        return (*result)["error"].get<std::string>();
    return "imaging exited with status " + std::to_string(exit_status);
}

namespace {

constexpr std::size_t kCaptureLimit = 64 << 10;

class ChildImagingRunner final : public ImagingRunner {
  public:
    ImagingOutcome run(const std::vector<std::string>& argv,
                       const ProgressFunction& on_progress) override {
        ImagingOutcome outcome;
        base::RunOptions run;
        run.capture_limit = kCaptureLimit;  // the lines go to the callbacks as they come
        run.on_stdout_line = [&](std::string_view text) {
            ImagingLine line = parse_imaging_line(text);
            if (line.kind == ImagingLine::Kind::progress) {
                if (on_progress) on_progress(line.bytes_done, line.bytes_total);
            } else if (line.kind == ImagingLine::Kind::result) {
                outcome.result = std::move(line.result);
            } else if (!text.empty()) {
                std::cerr << "imaging: " << text << std::endl;
            }
        };
        run.on_stderr_line = [&](std::string_view text) {
            std::cerr << text << std::endl;
            if (text.find_first_not_of(" \t") != std::string_view::npos)
                outcome.last_error_line = std::string(text);
        };
        auto ran = base::run_process(argv, run);
        if (!ran) {
            outcome.last_error_line = ran.status().message();
            return outcome;
        }
        outcome.exit_status = ran->exit_code;
        return outcome;
    }
};

}  // namespace

std::unique_ptr<ImagingRunner> make_child_imaging_runner() {
    return std::make_unique<ChildImagingRunner>();
}

}  // namespace provisioner::agent
