// provisioner-agent: `imaging receive` as the agent runs it: argv per transport, its output
// lines, the child process, and --progress-json (imaging/progress.h).
#include <doctest/doctest.h>

#include <sstream>

#include "imaging/progress.h"
#include "provisioner/agent/imaging_runner.h"

using namespace provisioner::agent;

namespace {

Job job_for(provisioner::wire::Transport transport) {
    Job j;
    j.deployment = 3;
    j.transport = transport;
    j.pubkey_pem = "PEM";
    j.image_name = "dom0";
    j.image_version = "2";
    j.image_sha256 = std::string(64, 'c');
    j.delta_from = "10.77.0.1:7000";
    j.multicast_group = "239.77.0.3";
    j.multicast_port = 9003;
    j.torrent_url = "http://10.77.0.1:8080/torrents/3.torrent";
    return j;
}

const ReceiveTarget kTarget{"/opt/bin/imaging", "/dev/sdb", "/tmp/k.pub", "eth1", ""};

std::vector<std::string> tail_args() {
    return {"--output",         "/dev/sdb",       "--pubkey",       "/tmp/k.pub",
            "--progress-json",  "--expect-sha256", std::string(64, 'c'), "--expect-image",
            "dom0@2"};
}

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

}  // namespace

TEST_CASE("agent: receive argv for each transport") {
    auto delta = build_receive_argv(job_for(provisioner::wire::Transport::delta), kTarget);
    REQUIRE(delta);
    CHECK(*delta == concat({"/opt/bin/imaging", "receive", "--transport", "delta", "--from",
                            "10.77.0.1:7000"},
                           tail_args()));

    auto mc = build_receive_argv(job_for(provisioner::wire::Transport::multicast), kTarget);
    REQUIRE(mc);
    CHECK(*mc == concat({"/opt/bin/imaging", "receive", "--transport", "multicast", "--interface",
                         "eth1", "--group", "239.77.0.3", "--port", "9003"},
                        tail_args()));

    auto tor = build_receive_argv(job_for(provisioner::wire::Transport::torrent), kTarget);
    REQUIRE(tor);
    CHECK(*tor == concat({"/opt/bin/imaging", "receive", "--transport", "torrent", "--torrent",
                          "http://10.77.0.1:8080/torrents/3.torrent"},
                         tail_args()));

    ReceiveTarget no_nic = kTarget;
    no_nic.interface = "";
    CHECK_FALSE(build_receive_argv(job_for(provisioner::wire::Transport::multicast), no_nic));
    CHECK(build_receive_argv(job_for(provisioner::wire::Transport::delta), no_nic));
    // An unknown transport never gets here: the job's decoder refuses it (test_wire.cc).
}

TEST_CASE("agent: imaging output lines") {
    auto p = parse_imaging_line(R"({"progress":{"bytes_done":1048576,"bytes_total":412000000}})");
    CHECK(p.kind == ImagingLine::Kind::progress);
    CHECK(p.bytes_done == 1048576);
    CHECK(p.bytes_total == 412000000);

    auto r = parse_imaging_line(R"({"transport":"delta","ok":true,"sha256":"ab","seconds":1.5})");
    CHECK(r.kind == ImagingLine::Kind::result);
    CHECK(r.result["sha256"] == "ab");
    CHECK(parse_imaging_line(R"({"transport":"multicast","ok":false,"error":"x"})").kind ==
          ImagingLine::Kind::result);

    for (const char* other : {"", "serve: on port 7", "{", "[1,2]", R"({"ok":"yes"})",
                              R"({"progress":{"bytes_done":-1,"bytes_total":2}})",
                              R"({"progress":{"bytes_done":1}})", R"({"progress":3})"})
        CHECK_MESSAGE(parse_imaging_line(other).kind == ImagingLine::Kind::other, other);

    // What imaging's Progress prints is what the agent reads.
    auto round = parse_imaging_line(imaging::progress_json_line(5, 10));
    CHECK(round.kind == ImagingLine::Kind::progress);
    CHECK(round.bytes_done == 5);
    CHECK(round.bytes_total == 10);
}

TEST_CASE("agent: imaging outcome") {
    ImagingOutcome o;
    o.exit_status = 0;
    o.result = nlohmann::json{{"ok", true}};
    CHECK(o.verified());
    o.result = nlohmann::json{{"ok", false}, {"error", "incomplete"}};
    CHECK_FALSE(o.verified());
    CHECK(o.error() == "incomplete");
    o.last_error_line = "imaging: error: receive: the image is incomplete";
    CHECK(o.error() == o.last_error_line);
    o.result.reset();
    o.last_error_line = "some chatter";
    CHECK_FALSE(o.verified());
    CHECK(o.error() == "imaging printed no result line");
    o.exit_status = 1;
    o.last_error_line.clear();
    CHECK(o.error() == "imaging exited with status 1");
}

TEST_CASE("agent: Progress writes JSON lines at most once a second, the last one at finish") {
    std::ostringstream out;
    {
        imaging::Progress progress("test", 100);
        progress.emit_json_lines(out);
        for (int i = 0; i < 50; ++i) progress.advance(2);
        progress.finish();
        progress.advance(1);  // after finish: nothing more
        progress.finish();
    }
    std::istringstream lines(out.str());
    std::vector<std::string> got;
    for (std::string line; std::getline(lines, line);) got.push_back(line);
    REQUIRE(got.size() == 2);
    CHECK(got[0] == R"({"progress":{"bytes_done":2,"bytes_total":100}})");
    CHECK(got[1] == R"({"progress":{"bytes_done":100,"bytes_total":100}})");
}

TEST_CASE("agent: the child runner splits progress, result and stderr") {
    auto runner = make_child_imaging_runner();
    std::vector<std::pair<std::uint64_t, std::uint64_t>> progress;
    auto outcome = runner->run(
        {"/bin/sh", "-c",
         R"(echo '{"progress":{"bytes_done":1,"bytes_total":4}}'; echo chatter;)"
         R"(echo '{"progress":{"bytes_done":4,"bytes_total":4}}';)"
         R"(echo 'imaging: error: disk on fire' >&2; echo '{"transport":"delta","ok":true}')"},
        [&](std::uint64_t d, std::uint64_t t) { progress.emplace_back(d, t); });
    CHECK(outcome.exit_status == 0);
    REQUIRE(outcome.result);
    CHECK(outcome.verified());
    CHECK(outcome.last_error_line == "imaging: error: disk on fire");
    CHECK(progress == std::vector<std::pair<std::uint64_t, std::uint64_t>>{{1, 4}, {4, 4}});

    auto missing = runner->run({"/nonexistent/imaging", "receive"}, {});
    CHECK(missing.exit_status == -1);
    CHECK_FALSE(missing.verified());
    CHECK(missing.error().find("/nonexistent/imaging") != std::string::npos);
}

TEST_CASE("agent: a torrent job's swarm certificate goes to imaging receive as --peer-cert") {
    Job job = job_for(provisioner::wire::Transport::torrent);
    job.torrent_peer_cert = "-----BEGIN CERTIFICATE-----\n...";
    ReceiveTarget target = kTarget;
    target.peer_cert_file = "/tmp/p";
    auto tor = build_receive_argv(job, target);
    REQUIRE(tor);
    CHECK(*tor == concat({"/opt/bin/imaging", "receive", "--transport", "torrent", "--torrent",
                          "http://10.77.0.1:8080/torrents/3.torrent", "--peer-cert", "/tmp/p"},
                         tail_args()));
    auto unwritten = build_receive_argv(job, kTarget);  // never a torrent run without it
    REQUIRE_FALSE(unwritten);
    CHECK(unwritten.status().message().find("not written out") != std::string::npos);
}

TEST_CASE("agent: a job's secret goes to imaging receive as --secret-file, delta and multicast only") {
    ReceiveTarget target = kTarget;
    target.secret_file = "/tmp/s";
    auto delta = build_receive_argv(job_for(provisioner::wire::Transport::delta), target);
    REQUIRE(delta);
    CHECK(*delta == concat({"/opt/bin/imaging", "receive", "--transport", "delta", "--from",
                            "10.77.0.1:7000", "--secret-file", "/tmp/s"},
                           tail_args()));
    auto tor = build_receive_argv(job_for(provisioner::wire::Transport::torrent), target);
    REQUIRE(tor);
    CHECK(std::find(tor->begin(), tor->end(), "--secret-file") == tor->end());
}
