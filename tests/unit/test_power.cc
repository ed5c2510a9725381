// provisioner/power: the retries, time limits and typed errors of BMC calls, the ipmitool
// driver against a fake ipmitool, and the sealing of BMC passwords.
#include <doctest/doctest.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "base/clock.h"
#include "provisioner/power/bmc_config.h"
#include "provisioner/power/ipmi_driver.h"
#include "provisioner/power/retrying_driver.h"
#include "provisioner/power/sealed_password.h"
#include "test_power_fake.h"
#include "test_util.h"

using namespace provisioner::power;
using namespace std::chrono_literals;

TEST_SUITE("power") {

TEST_CASE("a busy BMC is retried with a doubling back-off until it answers") {
    base::FakeClock clock;
    auto fake = std::make_shared<FakeBmc>();
    fake->script({BmcError::busy, BmcError::busy, BmcError::none});
    RetryingDriver d(std::make_unique<FakeDriver>(fake), RetryPolicy{5, 1000ms, 8000ms, 60000ms},
                     clock);
    const auto start = clock.now();
    BmcOutcome out = d.power(PowerAction::on);
    CHECK(out.ok());
    CHECK(out.attempts == 3);
    CHECK(clock.now() - start == 3000ms);  // 1 s, then 2 s
    CHECK(fake->calls() == std::vector<std::string>{"power on", "power on", "power on"});
    CHECK(fake->state == PowerState::on);
}

TEST_CASE("a refused password is answered at once, typed, with the BMC named") {
    base::FakeClock clock;
    auto fake = std::make_shared<FakeBmc>();
    fake->script({BmcError::authentication});
    RetryingDriver d(std::make_unique<FakeDriver>(fake), RetryPolicy{}, clock);
    const auto start = clock.now();
    BmcOutcome out = d.status();
    CHECK(out.error == BmcError::authentication);
    CHECK(out.attempts == 1);
    CHECK(clock.now() == start);
    CHECK(out.message.find("power status on fake bmc-1") == 0);
    CHECK(std::string(to_string(out.error)) == "authentication");
}

TEST_CASE("an unreachable BMC is given up at the attempt limit, and before the deadline") {
    base::FakeClock clock;
    auto fake = std::make_shared<FakeBmc>();
    fake->always(BmcError::unreachable);
    SUBCASE("attempts") {
        RetryingDriver d(std::make_unique<FakeDriver>(fake), RetryPolicy{4, 1000ms, 2000ms, 60000ms},
                         clock);
        BmcOutcome out = d.set_next_boot(BootDevice::pxe);
        CHECK(out.error == BmcError::unreachable);
        CHECK(out.attempts == 4);
        CHECK(out.message.find("after 4 attempts") != std::string::npos);
    }
    SUBCASE("deadline") {
        // Each attempt itself takes 3 s (the driver's own time limit), backoff 1 s, 2 s, ...
        fake->attempt_takes = 3000ms;
        fake->clock = &clock;
        RetryingDriver d(std::make_unique<FakeDriver>(fake), RetryPolicy{10, 1000ms, 8000ms, 10000ms},
                         clock);
        const auto start = clock.now();
        BmcOutcome out = d.power(PowerAction::cycle);
        CHECK(out.error == BmcError::unreachable);
        // Attempts start at 0, 4 and 9 s; after the third (12 s) the next would start at 16.
        CHECK(out.attempts == 3);
        CHECK(clock.now() - start == 12000ms);
        CHECK(out.message.find("gave up") != std::string::npos);
    }
}

TEST_CASE("ipmitool's failures are typed by what it says") {
    CHECK(classify_ipmitool_failure("> RAKP 2 HMAC is invalid\nError: Unable to establish IPMI "
                                    "v2 / RMCP+ session\n") == BmcError::authentication);
    CHECK(classify_ipmitool_failure("RAKP 2 message indicates an error : unauthorized name\n") ==
          BmcError::authentication);
    CHECK(classify_ipmitool_failure("Error in open session response message : insufficient "
                                    "resources for session\n") == BmcError::busy);
    CHECK(classify_ipmitool_failure("Get Auth Capabilities error\nError issuing Get Channel "
                                    "Authentication Capabilities request\nError: Unable to "
                                    "establish IPMI v2 / RMCP+ session\n") ==
          BmcError::unreachable);
    CHECK(classify_ipmitool_failure("Invalid chassis power command: sideways\n") ==
          BmcError::protocol);
}

namespace {

// A fake ipmitool: records its arguments and IPMI_PASSWORD, answers as the script says.
std::filesystem::path fake_ipmitool(const testutil::TempDir& dir, const std::string& body) {
    auto path = dir.path() / "ipmitool";
    std::ofstream(path) << "#!/bin/sh\necho \"$@\" > " << (dir.path() / "argv").string()
                        << "\necho \"$IPMI_PASSWORD\" > " << (dir.path() / "env").string() << "\n"
                        << body << "\n";
    std::filesystem::permissions(path, std::filesystem::perms::owner_all);
    return path;
}

BmcConfig ipmi_config() {
    BmcConfig c;
    c.driver = "ipmi";
    c.address = "10.0.0.5:6230";
    c.username = "admin";
    c.password = "hunter2-secret";
    c.timeout = 2000ms;
    return c;
}

}  // namespace

TEST_CASE("the ipmitool driver: lanplus, the password only in the environment, its answers") {
    testutil::TempDir dir;
    SUBCASE("status on") {
        auto d = make_ipmi_driver(ipmi_config(), fake_ipmitool(dir, "echo 'Chassis Power is on'"));
        BmcOutcome out = d->status();
        REQUIRE(out.ok());
        CHECK(out.state == PowerState::on);
        std::string argv = testutil::file_text(dir.path() / "argv");
        CHECK(argv.find("-I lanplus -H 10.0.0.5 -p 6230 -U admin") != std::string::npos);
        CHECK(argv.find("-E") != std::string::npos);
        CHECK(argv.find("chassis power status") != std::string::npos);
        CHECK(argv.find("hunter2") == std::string::npos);
        CHECK(testutil::file_text(dir.path() / "env") == "hunter2-secret\n");
    }
    SUBCASE("next boot") {
        auto d = make_ipmi_driver(ipmi_config(), fake_ipmitool(dir, "echo 'Set Boot Device to pxe'"));
        CHECK(d->set_next_boot(BootDevice::pxe).ok());
        CHECK(testutil::file_text(dir.path() / "argv").find("chassis bootdev pxe") != std::string::npos);
    }
    SUBCASE("refused password") {
        auto d = make_ipmi_driver(
            ipmi_config(),
            fake_ipmitool(dir, "echo '> RAKP 2 HMAC is invalid' >&2; echo 'Error: Unable to "
                               "establish IPMI v2 / RMCP+ session' >&2; exit 1"));
        BmcOutcome out = d->power(PowerAction::on);
        CHECK(out.error == BmcError::authentication);
        CHECK(out.message.find("RAKP 2 HMAC is invalid") != std::string::npos);
        CHECK(out.message.find("hunter2") == std::string::npos);
    }
    SUBCASE("no answer within the time limit") {
        auto d = make_ipmi_driver(ipmi_config(), fake_ipmitool(dir, "sleep 30"));
        const auto start = std::chrono::steady_clock::now();
        BmcOutcome out = d->power(PowerAction::off);
        CHECK(std::chrono::steady_clock::now() - start < 10s);
        CHECK(out.error == BmcError::unreachable);
        CHECK(out.message.find("no answer within 2 s") != std::string::npos);
    }
}

TEST_CASE("BMC configs are checked before they are kept") {
    BmcConfig c = ipmi_config();
    CHECK(validate(c).is_ok());
    c.driver = "telnet";
    CHECK(validate(c).message().find("unknown BMC driver") != std::string::npos);
    c = ipmi_config();
    c.address = "-oProxyCommand=x";
    CHECK(!validate(c).is_ok());
    c = ipmi_config();
    c.password = std::string(20, 'p');
    CHECK(validate(c).is_ok());
    c.password += 'p';  // IPMI 2.0's limit, which ipmitool -I lanplus enforces
    CHECK(validate(c).message().find("at most 20 bytes") != std::string::npos);
    c.driver = "redfish";
    c.address = "https://10.0.0.5";
    CHECK(validate(c).is_ok());
    c = ipmi_config();
    c.driver = "redfish";
    CHECK(validate(c).message().find("https://") != std::string::npos);
    c.address = "https://10.0.0.5";
    CHECK(validate(c).is_ok());
    BmcConfig manual;
    manual.driver = "manual";
    CHECK(validate(manual).is_ok());
    auto d = make_driver(manual);
    REQUIRE(d.is_ok());
    BmcOutcome out = (*d)->power(PowerAction::on);
    CHECK(out.error == BmcError::unsupported);
    CHECK(out.message.find("press its power button") != std::string::npos);
}

TEST_CASE("a sealed password opens only with its secret and for its host") {
    const std::string secret = "00112233445566778899aabbccddeeff";
    auto sealed = seal_password(secret, 7, "hunter2-secret");
    REQUIRE(sealed.is_ok());
    CHECK(sealed->rfind("v1:", 0) == 0);
    CHECK(sealed->find("hunter2") == std::string::npos);
    auto again = seal_password(secret, 7, "hunter2-secret");
    CHECK(*again != *sealed);  // a fresh nonce each time
    auto open = open_password(secret, 7, *sealed);
    REQUIRE(open.is_ok());
    CHECK(*open == "hunter2-secret");
    CHECK(!open_password(secret, 8, *sealed).is_ok());
    CHECK(!open_password("another secret", 7, *sealed).is_ok());
    std::string changed = *sealed;
    changed[changed.size() - 1] = changed.back() == '0' ? '1' : '0';
    CHECK(!open_password(secret, 7, changed).is_ok());
    CHECK(open_password(secret, 7, "plain").status().code() == base::Code::invalid_argument);
}

}  // TEST_SUITE
