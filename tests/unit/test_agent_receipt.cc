// provisioner-agent and proof of receipt: a job with a receiver id makes `imaging receive`
// prove the delivery to its sender (delta: --receiver-id with the job's secret, the host's own
// key; multicast: --receiver-id and --receipt-key-file beside the session's secret).
#include <doctest/doctest.h>

#include <algorithm>

#include "provisioner/agent/imaging_runner.h"
#include "provisioner/wire/hello.h"

using namespace provisioner::agent;
using provisioner::wire::Transport;

namespace {

Job receipt_job(Transport transport) {
    Job j;
    j.deployment = 4;
    j.transport = transport;
    j.pubkey_pem = "PEM";
    j.image_name = "dom0";
    j.image_sha256 = std::string(64, 'c');
    j.delta_from = "10.77.0.1:7000";
    j.multicast_group = "239.77.0.3";
    j.multicast_port = 9003;
    j.secret = std::string(64, 'a');
    j.receiver_id = "4/9";
    return j;
}

std::vector<std::string> after(const std::vector<std::string>& argv, const std::string& option) {
    auto it = std::find(argv.begin(), argv.end(), option);
    if (it == argv.end()) return {};
    return {it, std::min(it + 4, argv.end())};
}

}  // namespace

TEST_CASE("agent: a delta job with a receiver id receives as that receiver") {
    ReceiveTarget target{"imaging", "/dev/sdb", "/tmp/k.pub", "", "/tmp/s"};
    auto argv = build_receive_argv(receipt_job(Transport::delta), target);
    REQUIRE(argv);
    CHECK(after(*argv, "--secret-file") ==
          std::vector<std::string>{"--secret-file", "/tmp/s", "--receiver-id", "4/9"});
    CHECK(after(*argv, "--receipt-key-file").empty());
}

TEST_CASE("agent: a multicast job with a receipt key proves its receipt with it") {
    ReceiveTarget target{"imaging", "/dev/sdb", "/tmp/k.pub", "eth1", "/tmp/s", "/tmp/r"};
    auto argv = build_receive_argv(receipt_job(Transport::multicast), target);
    REQUIRE(argv);
    CHECK(after(*argv, "--receiver-id") ==
          std::vector<std::string>{"--receiver-id", "4/9", "--receipt-key-file", "/tmp/r"});
    target.receipt_key_file.clear();  // no key written: no id claimed
    auto without = build_receive_argv(receipt_job(Transport::multicast), target);
    REQUIRE(without);
    CHECK(after(*without, "--receiver-id").empty());
}

TEST_CASE("wire: a job's receiver id and receipt key round-trip and are checked") {
    Job j = receipt_job(Transport::multicast);
    j.delta_from.clear();  // only the transport's own object travels
    j.receipt_key = std::string(64, 'b');
    auto back = provisioner::wire::decode<Job>(provisioner::wire::encode(j));
    REQUIRE_MESSAGE(back, back.status().message());
    CHECK(*back == j);
    auto encoded = provisioner::wire::encode(j);
    encoded["receiver_id"] = "4 9";
    CHECK_FALSE(provisioner::wire::decode<Job>(encoded));
    encoded = provisioner::wire::encode(j);
    encoded["receipt_key"] = "abc";
    CHECK_FALSE(provisioner::wire::decode<Job>(encoded));
}
