#!/usr/bin/env python3
"""A small Redfish BMC for e2e tests (none is packaged in Debian), over HTTPS.

One ComputerSystem (/redfish/v1/Systems/1) whose power and one-time boot device are those of
a machine directory driven by bmc/chassis_control, the same machine model as ipmi_sim.sh's
BMCs: ResetType On/ForceOff/ForceRestart/PowerCycle/GracefulShutdown run its start and stop
commands; Boot.BootSourceOverrideTarget Pxe/Hdd with BootSourceOverrideEnabled Once sets its
next boot. HTTP Basic authentication; a wrong user or password gets 401 with a Redfish error.

  redfish_bmc.py --listen ADDR --port PORT --cert PEM --key PEM --user USER \
                 --machine DIR   (the password in $REDFISH_PASSWORD)
"""
import argparse
import base64
import json
import os
import ssl
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
CHASSIS = os.path.join(HERE, "bmc", "chassis_control")
SYSTEM = "/redfish/v1/Systems/1"


def chassis(machine, *args):
    out = subprocess.run([CHASSIS, machine, *args], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError((out.stdout + out.stderr).strip() or "chassis_control failed")
    return out.stdout


def error_body(code, message):
    return {"error": {"code": "Base.1.0." + code, "message": message,
                      "@Message.ExtendedInfo": [{"MessageId": "Base.1.0." + code,
                                                 "Message": message}]}}


class Handler(BaseHTTPRequestHandler):
    server_version = "redfish-test/1"

    def log_message(self, fmt, *args):
        sys.stderr.write("redfish: " + (fmt % args) + "\n")

    def reply(self, status, body=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def authorised(self):
        want = "Basic " + base64.b64encode(
            (self.server.user + ":" + self.server.password).encode()).decode()
        if self.headers.get("Authorization") == want:
            return True
        self.reply(401, error_body("NoValidSession", "wrong user name or password"))
        return False

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > 65536:
            raise ValueError("body too large")
        return json.loads(self.rfile.read(n) or b"{}")

    def system(self):
        m = self.server.machine
        power = chassis(m, "get", "power").strip() == "power:1"
        boot = chassis(m, "get", "boot").strip().split(":", 1)[1]
        target = {"pxe": "Pxe", "default": "Hdd"}.get(boot, "None")
        return {"@odata.id": SYSTEM, "Id": "1", "Name": "test machine",
                "PowerState": "On" if power else "Off",
                "Boot": {"BootSourceOverrideEnabled": "Once" if target != "None" else "Disabled",
                         "BootSourceOverrideTarget": target,
                         "BootSourceOverrideTarget@Redfish.AllowableValues": ["None", "Pxe", "Hdd"]},
                "Actions": {"#ComputerSystem.Reset": {
                    "target": SYSTEM + "/Actions/ComputerSystem.Reset",
                    "ResetType@Redfish.AllowableValues":
                        ["On", "ForceOff", "GracefulShutdown", "ForceRestart", "PowerCycle"]}}}

    def do_GET(self):
        if not self.authorised():
            return
        if self.path == "/redfish/v1/Systems":
            self.reply(200, {"Members": [{"@odata.id": SYSTEM}], "Members@odata.count": 1})
        elif self.path == SYSTEM:
            self.reply(200, self.system())
        else:
            self.reply(404, error_body("ResourceMissingAtURI", self.path + " does not exist"))

    def do_PATCH(self):
        if not self.authorised():
            return
        if self.path != SYSTEM:
            return self.reply(404, error_body("ResourceMissingAtURI", self.path))
        boot = self.body().get("Boot", {})
        target = boot.get("BootSourceOverrideTarget")
        device = {"Pxe": "pxe", "Hdd": "default", "None": "none"}.get(target)
        if device is None:
            return self.reply(400, error_body("PropertyValueNotInList",
                                              "BootSourceOverrideTarget %r" % target))
        chassis(self.server.machine, "set", "boot", device)
        self.reply(204)

    def do_POST(self):
        if not self.authorised():
            return
        if self.path != SYSTEM + "/Actions/ComputerSystem.Reset":
            return self.reply(404, error_body("ResourceMissingAtURI", self.path))
        reset = self.body().get("ResetType")
        m = self.server.machine
        if reset == "On":
            chassis(m, "set", "power", "1")
        elif reset in ("ForceOff", "GracefulShutdown"):
            chassis(m, "set", "power", "0")
        elif reset in ("ForceRestart", "PowerCycle"):
            chassis(m, "set", "reset", "1")
        else:
            return self.reply(400, error_body("ActionParameterNotSupported",
                                              "ResetType %r" % reset))
        self.reply(204)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--machine", required=True)
    a = p.parse_args()
    server = ThreadingHTTPServer((a.listen, a.port), Handler)
    server.user = a.user
    server.password = os.environ.get("REDFISH_PASSWORD", "")
    server.machine = a.machine
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    sys.stderr.write("redfish: serving https://%s:%d\n" % (a.listen, a.port))
    sys.stderr.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
