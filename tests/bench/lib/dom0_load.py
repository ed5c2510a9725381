#!/usr/bin/env python3
"""Simulated Dom0 agents for tests/bench/monitoring: each host POSTs the real report
(POST /api/v1/agent/vms, wire::Dom0Report, API.md "Site and VMs") with its Dom0 token, its VMs
and their metrics, once per interval, at its own offset in the interval, each host over its
own kept HTTPS connection, as provisioner-agent keeps one (imaging/http/kept_client.h).

  dom0_load.py --url URL --ca CA --tokens FILE --samples SAMPLES [--vms N] [--interval S]
               [--duration D] [--stop FILE] [--processes P] [--threads T] [--no-vm-metrics]
               [--connection-per-report]

--connection-per-report opens a connection (TCP and a full TLS handshake) for each report and
closes it after, as provisioner-agent did before it kept its connection (one per call); without
it each host keeps one connection, opened at its first report, opened again once when the
server closed it (as the agent retries a request on a kept connection found closed).

FILE holds "name<TAB>mac<TAB>token" lines. The run lasts --duration seconds, or until the
--stop file exists; every report's
start, latency (first byte sent to the answer's last byte read), outcome, lag behind its
schedule and body size go to SAMPLES.N; `dom0_load.py window SINCE UNTIL SAMPLES.*` prints the
figures of the reports that started in a window.
"""
import argparse
import http.client
import json
import multiprocessing as mp
import os
import ssl
import sys
import threading
import time
import urllib.parse
import zlib

CPU_MODES = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"]


def vm_block(h, v, cycle, with_metrics):
    vm = {"name": f"{h}-vm{v:02d}", "vcpus": 2, "memory_mib": 2048,
          "template": "debian@12", "state": "running", "domain_type": "kvm"}
    if with_metrics:
        t = cycle * 15
        vm["metrics"] = {
            "uuid": f"{zlib.crc32(h.encode()):08x}-0000-4000-8000-{v:012d}",
            "state_code": 1, "cpu_time_seconds": 1000.5 + t * 0.3 + v,
            "cpu_weight_parameter": "cpu_shares", "cpu_weight": 1024,
            "memory_maximum_bytes": 2147483648, "memory_used_bytes": 1610612736,
            "vcpus_online": 2, "vcpus_maximum": 2,
            "disks": [{"device": "vda", "source": f"/var/lib/provisioner/vms/{h}-vm{v:02d}.qcow2",
                       "read_bytes": 10**9 + t * 4096, "read_requests": 10**5 + t,
                       "write_bytes": 5 * 10**8 + t * 8192, "write_requests": 5 * 10**4 + t}],
            "interfaces": [{"device": f"vnet{v}", "receive_bytes": 10**8 + t * 1500,
                            "receive_packets": 10**5 + t, "receive_errors": 0,
                            "receive_drops": 0, "transmit_bytes": 2 * 10**8 + t * 1500,
                            "transmit_packets": 2 * 10**5 + t, "transmit_errors": 0,
                            "transmit_drops": 0}],
        }
    return vm


def report_body(host, cycle, vms, with_metrics):
    name, mac = host
    t = cycle * 15
    body = {
        "v": 1, "mac": mac,
        "capacity": {"vcpus": 64, "memory_mib": 262144, "load": 0.4},
        "vms": [vm_block(name, v, cycle, with_metrics) for v in range(vms)],
        "metrics": {
            "cpu_seconds": {m: 1000.0 * (i + 1) + t for i, m in enumerate(CPU_MODES)},
            "memory_total_bytes": 274877906944, "memory_available_bytes": 68719476736,
            "load1": 25.5, "load5": 24.0, "load15": 23.1,
            "boot_time_seconds": 1764806400, "uptime_seconds": 86400 + t,
            "network": [{"device": "eth0", "receive_bytes": 10**12 + t * 10**6,
                         "transmit_bytes": 10**12 + t * 10**6, "receive_errors": 0,
                         "transmit_errors": 0}],
            "filesystem": {"mountpoint": "/", "size_bytes": 10**12, "free_bytes": 6 * 10**11,
                           "avail_bytes": 5 * 10**11},
        },
    }
    return json.dumps(body, separators=(",", ":")).encode()


def worker(args, hosts, start, out):
    """One thread: its hosts in schedule order, each over its own kept connection."""
    url = urllib.parse.urlsplit(args.url)
    context = ssl.create_default_context(cafile=args.ca)
    conns = {}  # host index: its kept connection
    samples = []  # (start, seconds, ok, lag behind schedule, body bytes)
    end = start + args.duration
    n = len(args.all_hosts)
    # (due time, index) of this thread's hosts, each at its offset in the interval.
    schedule = sorted((start + args.interval * i / n, i, h) for i, h in hosts)
    cycle = 0
    while True:
        for offset_due, i, (name, mac, token) in schedule:
            due = offset_due + cycle * args.interval
            if due >= end:
                out.put(samples)
                return
            now = time.time()
            if due > now:
                time.sleep(due - now)
            if args.stop and os.path.exists(args.stop):
                out.put(samples)
                return
            body = report_body((name, mac), cycle, args.vms, args.vm_metrics)
            t0 = time.time()
            ok = False
            conn = conns.pop(i, None)
            for attempt in range(2):  # a connection the server closed is opened again once
                try:
                    if conn is None:
                        conn = http.client.HTTPSConnection(url.hostname, url.port, context=context,
                                                           timeout=60)
                    conn.request("POST", "/api/v1/agent/vms", body,
                                 {"Authorization": "Bearer " + token,
                                  "Content-Type": "application/json"})
                    r = conn.getresponse()
                    r.read()
                    ok = r.status == 200
                    if args.connection_per_report or r.getheader("Connection", "").lower() == "close":
                        conn.close()
                    else:
                        conns[i] = conn
                    conn = None
                    break
                except (OSError, http.client.HTTPException):
                    if conn is not None:
                        conn.close()
                    conn = None
            samples.append((t0, time.time() - t0, ok, t0 - due, len(body)))
        cycle += 1


def process_main(args, hosts, start, path):
    results = []
    lock = threading.Lock()

    class Sink:
        def put(self, item):
            with lock:
                results.extend(item)

    sink = Sink()
    threads = [threading.Thread(target=worker, args=(args, hosts[k::args.threads], start, sink),
                                daemon=True) for k in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(path, "w") as f:
        for t0, took, ok, lag, size in results:
            f.write(f"{t0:.6f} {took:.6f} {int(ok)} {lag:.6f} {size}\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--tokens", required=True)
    p.add_argument("--samples", required=True, help="writes SAMPLES.N, one per process")
    p.add_argument("--vms", type=int, default=20)
    p.add_argument("--interval", type=float, default=15)
    p.add_argument("--duration", type=float, default=60)
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--threads", type=int, default=16)
    p.add_argument("--stop", help="every thread ends once this file exists")
    p.add_argument("--no-vm-metrics", dest="vm_metrics", action="store_false")
    p.add_argument("--connection-per-report", action="store_true")
    args = p.parse_args()
    hosts = []
    with open(args.tokens) as f:
        for line in f:
            name, mac, token = line.rstrip("\n").split("\t")
            hosts.append((name, mac, token))
    args.all_hosts = hosts
    indexed = list(enumerate(hosts))
    start = time.time() + 1
    print(f"{start:.6f}", flush=True)  # when the first report is due
    procs = [mp.Process(target=process_main,
                        args=(args, indexed[k::args.processes], start, f"{args.samples}.{k}"))
             for k in range(args.processes)]
    for pr in procs:
        pr.start()
    for pr in procs:
        pr.join()


def window(paths, since, until):
    """Figures of the reports that started in [since, until)."""
    lat, errors, lag, size = [], 0, 0.0, 0
    for path in paths:
        for line in open(path):
            t0, took, ok, late, nbytes = line.split()
            t0 = float(t0)
            if not since <= t0 < until:
                continue
            lag = max(lag, float(late))
            size += int(nbytes)
            if ok == "1":
                lat.append(float(took))
            else:
                errors += 1
    lat.sort()
    n = len(lat) + errors

    def pct(q):
        return lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")

    return {"reports": n, "errors": errors, "per_second": n / (until - since),
            "p50": pct(0.5), "p99": pct(0.99), "max": lat[-1] if lat else float("nan"),
            "lag_max": lag, "body_bytes": size / n if n else 0}


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "window":
        # dom0_load.py window SINCE UNTIL SAMPLES...: one JSON line.
        print(json.dumps(window(sys.argv[4:], float(sys.argv[2]), float(sys.argv[3]))))
    else:
        main()
