#include "provisioner/vmhost/domain_kind.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <pugixml.hpp>
#include <sstream>

namespace provisioner::vmhost {

namespace {

bool cpu_has_virtualisation(const std::filesystem::path& cpuinfo) {
    std::ifstream in(cpuinfo);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("flags", 0) != 0) continue;
        std::istringstream words(line.substr(line.find(':') == std::string::npos
                                                 ? line.size()
                                                 : line.find(':') + 1));
        for (std::string flag; words >> flag;)
            if (flag == "vmx" || flag == "svm") return true;
    }
    return false;
}

// The child's whole work: exit 0 when the vCPU reached HLT, else a code naming the step that
// failed. Only async-signal-safe calls: the parent may have threads.
[[noreturn]] void run_hlt_guest(const char* dev) {
    int kvm = ::open(dev, O_RDWR | O_CLOEXEC);
    if (kvm < 0) ::_exit(10);
    if (::ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) ::_exit(11);
    int vm = ::ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0) ::_exit(12);
    // mov dx, 0x3f8; mov al, 'k'; out dx, al; hlt
    static const unsigned char code[] = {0xba, 0xf8, 0x03, 0xb0, 'k', 0xee, 0xf4};
    void* mem = ::mmap(nullptr, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) ::_exit(13);
    std::memcpy(mem, code, sizeof code);
    kvm_userspace_memory_region region{};
    region.guest_phys_addr = 0x1000;
    region.memory_size = 0x1000;
    region.userspace_addr = reinterpret_cast<std::uint64_t>(mem);
    if (::ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) ::_exit(14);
    int vcpu = ::ioctl(vm, KVM_CREATE_VCPU, 0);
    if (vcpu < 0) ::_exit(15);
    int size = ::ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size <= 0) ::_exit(16);
    void* shared = ::mmap(nullptr, std::size_t(size), PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (shared == MAP_FAILED) ::_exit(16);
    auto* run = static_cast<kvm_run*>(shared);
    kvm_sregs sregs{};
    if (::ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) ::_exit(17);
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (::ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) ::_exit(17);
    kvm_regs regs{};
    regs.rip = 0x1000;
    regs.rflags = 2;
    if (::ioctl(vcpu, KVM_SET_REGS, &regs) < 0) ::_exit(17);
    for (int i = 0; i < 8; ++i) {
        if (::ioctl(vcpu, KVM_RUN, 0) < 0) ::_exit(18);
        if (run->exit_reason == KVM_EXIT_HLT) ::_exit(0);
        if (run->exit_reason != KVM_EXIT_IO) ::_exit(19);
    }
    ::_exit(19);
}

const char* step_name(int code) {
    switch (code) {
        case 10: return "cannot open it";
        case 11: return "unexpected KVM API version";
        case 12: return "KVM_CREATE_VM failed";
        case 13: return "no memory for the guest";
        case 14: return "KVM_SET_USER_MEMORY_REGION failed";
        case 15: return "KVM_CREATE_VCPU failed";
        case 16: return "cannot map the vCPU";
        case 17: return "cannot set the vCPU's registers";
        case 18: return "KVM_RUN failed";
        default: return "the vCPU did not reach HLT";
    }
}

}  // namespace

Result<Accel> parse_accel(const std::string& text) {
    if (text == "auto") return Accel::auto_detect;
    if (text == "kvm") return Accel::kvm;
    if (text == "tcg") return Accel::tcg;
    return Status::error(Code::invalid_argument,
                         "accelerator '" + text + "': expected auto, kvm or tcg");
}

KvmProbe probe_kvm(const std::filesystem::path& root) {
    const std::filesystem::path dev = root / "dev/kvm";
    if (!cpu_has_virtualisation(root / "proc/cpuinfo"))
        return {false, "the CPU shows no vmx or svm flag (a nested hypervisor's /dev/kvm, if "
                       "any, is not trusted)"};
    std::error_code ec;
    if (!std::filesystem::exists(dev, ec)) return {false, dev.string() + " does not exist"};
    const std::string path = dev.string();
    pid_t child = ::fork();
    if (child < 0) return {false, "cannot fork the KVM probe"};
    if (child == 0) {
        ::alarm(2);
        run_hlt_guest(path.c_str());
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return {true, path + " ran a test vCPU to HLT"};
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
        return {false, path + ": the test vCPU did not halt within 2 s"};
    if (WIFEXITED(status)) return {false, path + ": " + step_name(WEXITSTATUS(status))};
    return {false, path + ": the probe died by signal " + std::to_string(WTERMSIG(status))};
}

bool offers_os_type(const std::string& capabilities_xml, const std::string& os_type) {
    pugi::xml_document doc;
    if (!doc.load_string(capabilities_xml.c_str())) return false;
    for (auto guest : doc.child("capabilities").children("guest"))
        if (os_type == guest.child("os_type").text().get()) return true;
    return false;
}

bool offers_domain_type(const std::string& capabilities_xml, const std::string& domain_type) {
    pugi::xml_document doc;
    if (!doc.load_string(capabilities_xml.c_str())) return false;
    for (auto guest : doc.child("capabilities").children("guest"))
        for (auto domain : guest.child("arch").children("domain"))
            if (domain_type == domain.attribute("type").value()) return true;
    return false;
}

KindChoice choose_domain_kind(Driver driver, Accel accel, const std::string& capabilities_xml,
                              const std::function<KvmProbe()>& probe) {
    switch (driver) {
        case Driver::test:
            return {DomainKind::test, "libvirt's test driver"};
        case Driver::xen:
            if (offers_os_type(capabilities_xml, "hvm"))
                return {DomainKind::xen_hvm, "HVM: the hypervisor offers hvm guests"};
            return {DomainKind::xen_pv, "PV: the hypervisor offers no hvm guests"};
        case Driver::qemu:
            break;
    }
    if (accel == Accel::kvm) return {DomainKind::kvm, "KVM: chosen by the operator"};
    if (accel == Accel::tcg) return {DomainKind::qemu, "TCG: chosen by the operator"};
    if (!offers_domain_type(capabilities_xml, "kvm"))
        return {DomainKind::qemu, "TCG: libvirt offers no kvm domains"};
    KvmProbe kvm = probe();
    if (!kvm.usable) return {DomainKind::qemu, "TCG: KVM is not usable: " + kvm.why};
    return {DomainKind::kvm, "KVM: " + kvm.why};
}

}  // namespace provisioner::vmhost
