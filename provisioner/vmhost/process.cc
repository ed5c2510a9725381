#include "provisioner/vmhost/process.h"

namespace provisioner::vmhost {

namespace {

class RealProcessRunner final : public ProcessRunner {
  public:
    Result<ProcessResult> run(const std::vector<std::string>& argv) override {
        return base::run_process(argv);
    }
};

}  // namespace

std::unique_ptr<ProcessRunner> make_process_runner() {
    return std::make_unique<RealProcessRunner>();
}

}  // namespace provisioner::vmhost
