// The `manual` driver: a host without a BMC the server can reach. Nothing is done; each call
// fails as unsupported with what a person has to do instead, which the CLI shows.
#include <memory>

#include "provisioner/power/bmc_config.h"

namespace provisioner::power {
namespace {

class ManualDriver final : public PowerDriver {
  public:
    BmcOutcome power(PowerAction action) override {
        const char* press = action == PowerAction::on    ? "press its power button to switch it on"
                            : action == PowerAction::off ? "hold its power button until it is off"
                                                         : "press its reset button (or switch it "
                                                           "off and on)";
        return BmcOutcome::failure(BmcError::unsupported,
                                   std::string("manual power: ") + press);
    }
    BmcOutcome status() override {
        return BmcOutcome::failure(BmcError::unsupported,
                                   "manual power: look at the machine; no BMC reports its state");
    }
    BmcOutcome set_next_boot(BootDevice device) override {
        return BmcOutcome::failure(
            BmcError::unsupported,
            device == BootDevice::pxe
                ? "manual power: choose network (PXE) boot in its firmware's boot menu (often F12)"
                : "manual power: let it boot from its disk (the firmware's default order)");
    }
    std::string describe() const override { return "manual"; }
};

}  // namespace

std::unique_ptr<PowerDriver> make_manual_driver() { return std::make_unique<ManualDriver>(); }

}  // namespace provisioner::power
