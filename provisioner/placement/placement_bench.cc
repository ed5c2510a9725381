// placement_bench: places N VMs onto M hosts with every algorithm and prints, per algorithm,
// the wall and CPU time of Placer::place, how many hosts got a VM, and the mean and standard
// deviation of the hosts' CPU and memory utilisation (given out / capacity, reserved capacity
// included). Run by tests/bench/placement; a benchmark, not a test: it reports figures, asserts
// nothing.
//
//   placement_bench [--vms N] [--hosts M] [--seed S] [--constraints]
//
// The site is synthetic and the same for every algorithm (seeded): hosts of 48 or 64 vcpus and
// 192, 256 or 384 GiB, each at a measured load of 0-40 %; VMs of 1, 2, 4 or 8 vcpus (40/30/20/
// 10 %) and 1-16 GiB. --constraints adds 1 % of VMs in together pairs and 1 % in apart pairs.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <unordered_map>

#include "provisioner/placement.h"

using namespace provisioner::placement;

namespace {

struct Args {
    int vms = 100000;
    int hosts = 10000;
    unsigned seed = 1;
    bool constraints = false;
};

bool parse_args(int argc, char** argv, Args& args) {
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--vms" && has_value)
            args.vms = std::atoi(argv[++i]);
        else if (arg == "--hosts" && has_value)
            args.hosts = std::atoi(argv[++i]);
        else if (arg == "--seed" && has_value)
            args.seed = static_cast<unsigned>(std::atoi(argv[++i]));
        else if (arg == "--constraints")
            args.constraints = true;
        else
            return false;
    }
    return args.vms > 0 && args.hosts > 0;
}

Request make_request(const Args& args) {
    std::mt19937 rng(args.seed);
    Request request;
    request.hosts.reserve(args.hosts);
    const std::uint64_t memories[] = {192 * 1024, 256 * 1024, 384 * 1024};
    for (int h = 0; h < args.hosts; ++h) {
        Host host;
        host.name = "host" + std::to_string(h);
        host.vcpus = rng() % 2 ? 64 : 48;
        host.memory_mib = memories[rng() % 3];
        host.load = (rng() % 41) / 100.0;
        host.reserved_vcpus = 1;
        host.reserved_memory_mib = 2048;
        request.hosts.push_back(std::move(host));
    }
    request.vms.reserve(args.vms);
    for (int v = 0; v < args.vms; ++v) {
        const unsigned pick = rng() % 10;
        const std::uint32_t vcpus = pick < 4 ? 1 : pick < 7 ? 2 : pick < 9 ? 4 : 8;
        request.vms.push_back(Vm{"vm" + std::to_string(v), vcpus, 1024 * (1 + rng() % 16), "", ""});
    }
    if (args.constraints) {
        for (int v = 0; v + 1 < args.vms; v += 200) {
            request.together.push_back({request.vms[v].name, request.vms[v + 1].name});
            if (v + 101 < args.vms)
                request.apart.push_back({request.vms[v + 100].name, request.vms[v + 101].name});
        }
    }
    return request;
}

struct Spread {
    double mean = 0, stddev = 0;
};

Spread spread_of(const std::vector<double>& values) {
    Spread s;
    for (double v : values) s.mean += v;
    s.mean /= static_cast<double>(values.size());
    for (double v : values) s.stddev += (v - s.mean) * (v - s.mean);
    s.stddev = std::sqrt(s.stddev / static_cast<double>(values.size()));
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    Args args;
    if (!parse_args(argc, argv, args)) {
        std::fprintf(stderr,
                     "usage: placement_bench [--vms N] [--hosts M] [--seed S] [--constraints]\n");
        return 2;
    }
    const Request request = make_request(args);
    std::printf("%d VMs onto %d hosts (seed %u%s)\n", args.vms, args.hosts, args.seed,
                args.constraints ? ", with together/apart pairs" : "");
    std::printf("%-21s  %8s  %7s  %7s  %10s  %13s  %13s\n", "algorithm", "wall_ms", "cpu_ms",
                "placed", "hosts_used", "cpu_util", "mem_util");
    std::printf("%-21s  %8s  %7s  %7s  %10s  %13s  %13s\n", "", "", "", "", "", "mean/stddev",
                "mean/stddev");
    int status = 0;
    for (const std::string& name : placer_names()) {
        auto placer = make_placer(name);
        if (!placer) {
            std::fprintf(stderr, "%s\n", placer.status().message().c_str());
            return 1;
        }
        const auto start = std::chrono::steady_clock::now();
        const std::clock_t cpu_start = std::clock();
        auto placed = (*placer)->place(request);
        const double cpu_ms = 1000.0 * double(std::clock() - cpu_start) / CLOCKS_PER_SEC;
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count();
        if (!placed) {
            std::fprintf(stderr, "%s: %s\n", name.c_str(), placed.status().message().c_str());
            return 1;
        }
        if (!placed->ok()) {
            std::printf("%-21s  %8.1f  %7.1f  %7s  %s\n", name.c_str(), ms, cpu_ms, "FAILED",
                        (std::to_string(placed->unplaced.size()) + " VMs unplaced, e.g. " +
                         placed->unplaced[0].vm + ": " + placed->unplaced[0].reason)
                            .c_str());
            status = 1;
            continue;
        }
        std::unordered_map<std::string, int> index;
        for (std::size_t h = 0; h < request.hosts.size(); ++h)
            index[request.hosts[h].name] = int(h);
        std::vector<std::uint64_t> vcpus(request.hosts.size()), memory(request.hosts.size());
        std::vector<int> count(request.hosts.size());
        for (std::size_t v = 0; v < request.vms.size(); ++v) {
            const int h = index[placed->assignments[v].host];
            vcpus[h] += request.vms[v].vcpus;
            memory[h] += request.vms[v].memory_mib;
            ++count[h];
        }
        std::vector<double> cpu_util, mem_util;
        int used = 0;
        for (std::size_t h = 0; h < request.hosts.size(); ++h) {
            const Host& host = request.hosts[h];
            used += count[h] > 0;
            cpu_util.push_back(double(vcpus[h] + host.reserved_vcpus) / host.vcpus);
            mem_util.push_back(double(memory[h] + host.reserved_memory_mib) /
                               double(host.memory_mib));
        }
        const Spread cpu = spread_of(cpu_util), mem = spread_of(mem_util);
        std::printf("%-21s  %8.1f  %7.1f  %7zu  %10d  %6.3f/%6.3f  %6.3f/%6.3f\n", name.c_str(), ms,
                    cpu_ms, placed->assignments.size(), used, cpu.mean, cpu.stddev, mem.mean,
                    mem.stddev);
    }
    return status;
}
