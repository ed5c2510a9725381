#!/usr/bin/python3
"""Drives provisionerd's web UI in a real headless Chromium (Selenium, chromedriver), as
tests/e2e/test_web_ui.sh arranges: sign in, enrol hosts from a CSV, start a deployment and watch
every host reach "succeeded" on the same page, apply a bad site (its line shown) then a good
one and see the VMs and a VM's service appear, recall them after a confirmation, look at every page in light and
dark and at a phone's width, sign out and be refused. No console errors on any page but the
network answers a step expects. The shell does what hosts do, in step with us through files in
SYNC: we touch deploy.started, it touches dom0.ready once the hosts are imaged and their Dom0
agents report.

usage: web_ui.py URL CA_FILE TOKEN_FILE CSV_FILE SYNC_DIR SHOTS_DIR
"""
import json
import os
import ssl
import sys
import tempfile
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

URL, CA, TOKEN_FILE, CSV_FILE, SYNC, SHOTS = sys.argv[1:7]
TOKEN = open(TOKEN_FILE).read().strip()

BAD_SITE = """<XSMConfig placement="round-robin">
<Set name="demo"><Owner>ops@example.com</Owner>
<VM name="x1"><VCPUS>1</VCPUS><MEM>64</MEM><TEMPLATE>centos</TEMPLATE></VM>
</Set></XSMConfig>
"""
GOOD_SITE = """<XSMConfig placement="round-robin">
<Set name="demo"><Owner>ops@example.com</Owner>
<VM name="web1"><VCPUS>1</VCPUS><MEM>128</MEM><TEMPLATE>debian</TEMPLATE><DOM0>h1</DOM0>
  <SERVICE package="hello"><PARAM name="port">8081</PARAM></SERVICE></VM>
<VM name="web2"><VCPUS>1</VCPUS><MEM>128</MEM><TEMPLATE>debian</TEMPLATE><DOM0>h2</DOM0></VM>
</Set></XSMConfig>
"""


def log(message):
    print(f"[web_ui {time.strftime('%H:%M:%S')}] {message}", flush=True)


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


class Browser:
    def __init__(self):
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800",
                    f"--user-data-dir={tempfile.mkdtemp(prefix='chromium.')}",
                    # provisionerd's certificate is signed by its own CA (STATE/ca.crt)
                    "--ignore-certificate-errors"):
            options.add_argument(arg)
        options.accept_insecure_certs = True
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        self.shots = []

    def wait(self, what, condition, timeout=20):
        try:
            return WebDriverWait(self.d, timeout, poll_frequency=0.1).until(lambda d: condition())
        except TimeoutException:
            self.shot(f"failed-{what.replace(' ', '-')[:40]}")
            fail(f"timed out after {timeout} s waiting for {what}; page: {self.text('main')[:800]}")

    def find(self, css):
        return self.d.find_element(By.CSS_SELECTOR, css)

    def all(self, css):
        return self.d.find_elements(By.CSS_SELECTOR, css)

    # Read by script in one step: pages re-render as the stream tells them of changes, so an
    # element found a moment ago may be gone by the time its text is asked for.
    def text(self, css):
        return self.js("const e = document.querySelector(arguments[0]); return e ? e.innerText : ''", css)

    def texts(self, css):
        return self.js("return [...document.querySelectorAll(arguments[0])].map((e) => e.innerText)", css)

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def go(self, page, heading):
        """Follows the navigation link (no reload), then waits for the page's heading."""
        self.js("location.hash = arguments[0]", page)
        self.wait(f"the {heading} page", lambda: self.text("main h1").startswith(heading))

    def shot(self, name):
        path = os.path.join(SHOTS, f"{len(self.shots) + 1:02d}-{name}.png")
        self.d.save_screenshot(path)
        self.shots.append(path)
        log(f"screenshot {path}")

    def set_value(self, css, value):
        self.js("const e = document.querySelector(arguments[0]); e.value = arguments[1];"
                "e.dispatchEvent(new Event('input'))", css, value)

    def console(self, step, allowed=()):
        """Fails on any error in the console but the network answers this step expects."""
        for entry in self.d.get_log("browser"):
            if entry["level"] != "SEVERE":
                continue
            if any(a in entry["message"] for a in allowed):
                log(f"expected: {entry['message']}")
                continue
            fail(f"console error during {step}: {entry['message']}")


def wait_file(name, seconds):
    path = os.path.join(SYNC, name)
    for _ in range(seconds * 10):
        if os.path.exists(path):
            return
        time.sleep(0.1)
    fail(f"the shell did not touch {name} in {seconds} s")


def api_status(path, cookie):
    """What provisionerd answers to a request carrying only this session cookie."""
    context = ssl.create_default_context(cafile=CA)
    request = urllib.request.Request(URL + path, headers={"Cookie": f"provisioner_session={cookie}"})
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def api_post(path, body):
    """POSTs JSON with the operator token (what the CLI would do beside the browser)."""
    context = ssl.create_default_context(cafile=CA)
    request = urllib.request.Request(URL + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {TOKEN}",
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, context=context, timeout=10) as r:
        return json.load(r)


def main():
    b = Browser()
    d = b.d
    # 401 from GET /api/v1/session: the app asking whether it is signed in; the sign-in page follows.
    not_signed_in = ("api/v1/session - Failed to load resource: the server responded with a status of 401",)

    log("sign-in page; a wrong token is refused where it was typed")
    d.get(URL + "/")
    b.wait("the sign-in form", lambda: b.all("#token"))
    b.find("#token").send_keys("op_" + "0" * 64 + Keys.ENTER)
    b.wait("the refusal", lambda: "not a valid operator token" in b.text("form.signin [role=alert]"))
    b.shot("signin-refused")
    b.console("sign-in", not_signed_in)

    log("sign in with the operator token")
    token = b.find("#token")
    token.clear()
    token.send_keys(TOKEN + Keys.ENTER)
    b.wait("the overview", lambda: b.text("main h1") == "Overview")
    b.wait("the live stream", lambda: b.text("#live") == "live")
    if b.text("#who") != "admin":
        fail(f"signed in as {b.text('#who')!r}")
    cookie = d.get_cookie("provisioner_session")
    if not cookie or not cookie.get("httpOnly") or cookie.get("sameSite") != "Strict" or not cookie.get("secure"):
        fail(f"the session cookie is not HttpOnly, SameSite=Strict and Secure: {cookie}")
    if "op_" in json.dumps(b.js("return {...localStorage, ...sessionStorage}")):
        fail("the token is kept in the browser's storage")
    b.js("window.__sameDocument = true")  # gone if anything reloads the page
    b.shot("overview-empty")
    b.console("sign-in", not_signed_in)

    log("hosts: enrol from a CSV")
    b.go("#/hosts", "Hosts")
    b.set_value("#csv", open(CSV_FILE).read())
    b.find("#csv-import").click()
    b.wait("the import's answer", lambda: b.text("#csv-result").startswith("Imported"))
    rows = open(CSV_FILE).read().strip().splitlines()[1:]
    names = [r.split(",")[1] for r in rows]
    b.wait("every host in the list", lambda: all(n in b.texts("main table a") for n in names))
    Select(b.find("#f-state")).select_by_value("enrolled")
    b.wait("the state filter", lambda: f"{len(names)} of {len(names)} hosts" in b.text("main"))
    b.shot("hosts")
    b.console("hosts")

    log("deployments: start one, watch it to the end on this page")
    b.go("#/deployments", "Deployments")
    b.wait("the image list", lambda: "dom0@1" in b.text("#d-image"))
    Select(b.find("#d-transport")).select_by_value("delta")
    b.find("#d-start").click()
    b.wait("the deployment's page", lambda: b.text("main h1").startswith("Deployment "))
    open(os.path.join(SYNC, "deploy.started"), "w").close()
    b.shot("deployment-running")
    b.wait("every host to succeed", lambda: b.texts(".target-state") == ["succeeded"] * len(names) and
           b.text("#deployment-state") == "succeeded", timeout=300)
    if not b.js("return window.__sameDocument === true"):
        fail("the page was reloaded")
    b.shot("deployment-succeeded")
    b.console("deployment")

    wait_file("dom0.ready", 240)
    log("every page, light")
    for page, heading, name in (("#/", "Overview", "overview"), (f"#/hosts/{names[0]}", f"Host {names[0]}", "host"),
                                ("#/images", "Images", "images"), ("#/templates", "Templates", "templates"),
                                ("#/events", "Events", "events")):
        b.go(page, heading)
        time.sleep(0.3)
        b.shot(name)
    b.go("#/templates", "Templates")
    b.wait("the template list", lambda: "debian@1" in b.text("main table"))
    heat = b.text(".template-heat[data-template='debian@1']")
    if heat != "cold":  # no site has used it yet
        fail(f"debian@1 is shown {heat!r}, not cold")
    log("a host's graphs: its Dom0 agent's reports, from the server's history")
    b.go(f"#/hosts/{names[0]}", f"Host {names[0]}")
    marks = ".graphs svg.chart polyline, .graphs svg.chart circle"
    b.wait("the host's graphs drawn", lambda: len(b.all(marks)) >= 3, timeout=40)
    captions = b.texts(".graphs figcaption")
    if not any(c.startswith("node_") for c in captions):
        fail(f"the host's graphs are not its node_* metrics: {captions}")
    b.js("document.querySelector('.graphs').scrollIntoView()")
    b.shot("host-graphs")
    b.console("pages")

    log("power: a host with a manual BMC shows its power, and its buttons say what to press")
    api_post(f"/api/v1/hosts/{names[1]}/bmc", {"driver": "manual"})
    b.go("#/hosts", "Hosts")
    b.wait("the power column", lambda: b.text(f".power[data-host={names[1]}]") == "power-unknown")
    b.go(f"#/hosts/{names[1]}", f"Host {names[1]}")
    b.find("#power-on").click()
    b.wait("the manual driver's answer", lambda: "press" in b.text(".power-box"), timeout=30)
    if "unsupported" not in b.text(".power-box"):
        fail(f"the power box reads {b.text('.power-box')!r}")
    b.shot("host-power")
    b.go(f"#/hosts/{names[0]}", f"Host {names[0]}")
    if "No BMC" not in b.text("main"):
        fail("a host without a BMC does not say so")
    b.console("power")

    log("site: an error is shown with its line, then a good site is applied")
    b.go("#/site", "Site")
    b.set_value("#site-text", BAD_SITE)
    b.find("#site-apply").click()
    b.wait("the site's error", lambda: "line 3:" in b.text("#site-errors"))
    if b.texts(".gutter .bad") != ["3"]:
        fail(f"the gutter marks lines {b.texts('.gutter .bad')}, not 3")
    b.shot("site-error")
    b.set_value("#site-text", GOOD_SITE)
    b.find("#site-diff").click()
    b.wait("the diff", lambda: "Would make 2 steps" in b.text("#site-out"))
    b.find("#site-apply").click()
    b.wait("the apply", lambda: "Applying: 2 steps" in b.text("#site-out"))
    b.wait("the apply's steps done", lambda: "done" in b.text("#site-status") or "succeeded" in b.text("#site-status"),
           timeout=60)
    b.shot("site-applied")
    b.console("site", ("api/v1/site/apply - Failed to load resource: the server responded with a status of 400",))

    log("VMs: they appear, then are recalled after a confirmation")
    b.go("#/vms", "VMs")
    vm_state = lambda name: b.text(f".vm-state[data-vm={name}]")
    b.wait("web1 and web2 running", lambda: vm_state("web1") == "running" and vm_state("web2") == "running", timeout=60)
    # Its service, as the server's board has it: no guest agent runs in a test-driver VM, so
    # it waits for one (vm_unavailable).
    b.wait("web1's service listed", lambda: "hello" in b.text(f"tr:has(.vm-state[data-vm=web1])"))
    if "vm_unavailable" not in b.text("tr:has(.vm-state[data-vm=web1])"):
        fail(f"web1's service reads {b.text('tr:has(.vm-state[data-vm=web1])')!r}")
    b.shot("vms")
    log("a VM's page: its record, its service and its graphs")
    b.find("a[href='#/vms/web1']").click()
    b.wait("web1's page", lambda: b.text("main h1").startswith("VM web1"))
    b.wait("web1's host and state", lambda: "Host" in b.text("main dl.facts") and "running" in b.text("main h1"))
    if "hello" not in b.text("main"):
        fail("web1's page does not list its service")
    b.wait("web1's graphs drawn", lambda: len(b.all(marks)) >= 1, timeout=40)
    b.shot("vm-graphs")
    log("templates: the one the VMs run on is hot now, and where each Dom0 holds it")
    b.go("#/templates", "Templates")
    b.wait("debian@1 hot", lambda: b.text(".template-heat[data-template='debian@1']") == "hot", timeout=30)
    b.wait("debian@1 held by h1 and h2",
           lambda: b.text(".template-hosts[data-template='debian@1']") == "h1, h2", timeout=30)
    b.shot("templates-placed")
    b.go("#/vms", "VMs")
    b.find("#recall-pattern").send_keys("web*")
    b.find("#recall").click()
    b.wait("the confirmation", lambda: b.find("#recall-confirm").is_displayed())
    listed = b.text("#recall-confirm ul")
    if "web1" not in listed or "web2" not in listed:
        fail(f"the confirmation lists {listed!r}")
    b.shot("recall-confirm")
    b.find("#recall-yes").click()
    b.wait("the recall's answer", lambda: "Recalling 2 VMs" in b.text("#recall-result"))
    b.wait("the VMs gone", lambda: not b.all(".vm-state"), timeout=60)
    b.shot("vms-recalled")
    # A VM's first report may not be in its history yet when its page first asks: 404, "no
    # metrics recorded for vm web1 yet" (the page says so, then draws the graphs on the next
    # refresh, which the wait above saw).
    b.console("vms", ("api/v1/vms/web1/metrics?since=1h - Failed to load resource: the server responded with a status of 404",))

    log("dark, a phone's width, the keyboard")
    b.find("#theme").click()
    b.go("#/", "Overview")
    if b.js("return getComputedStyle(document.documentElement).colorScheme") != "dark":
        fail("the Theme button did not switch to dark")
    b.shot("overview-dark")
    d.set_window_size(390, 844)
    b.go("#/hosts", "Hosts")
    width = b.js("return [document.documentElement.scrollWidth, window.innerWidth]")
    if width[0] > width[1]:
        fail(f"the page is wider than a phone: {width}")
    menu = b.find(".menu")
    if not menu.is_displayed() or b.find("#nav").is_displayed():
        fail("at a phone's width the navigation should fold behind Menu")
    menu.send_keys(Keys.ENTER)
    b.wait("the menu open", lambda: b.find("#nav").is_displayed())
    b.shot("hosts-phone-dark")
    b.find("#nav a[href='#/events']").send_keys(Keys.ENTER)
    b.wait("the events page by keyboard", lambda: b.text("main h1").startswith("Events"))
    b.find("#theme").click()
    d.set_window_size(1280, 800)
    b.go("#/", "Overview")
    d.refresh()  # a fresh document: Tab starts from its top (the session cookie stays)
    b.wait("the overview again", lambda: b.text("main h1") == "Overview")
    ActionChains(d).send_keys(Keys.TAB).perform()
    if b.js("return document.activeElement.className") != "skip":
        fail("the first Tab does not reach the skip link")
    b.js("window.__sameDocument = true")
    b.console("layout")

    log("sign out; the old cookie and a host's token are refused")
    old = d.get_cookie("provisioner_session")["value"]
    if api_status("/api/v1/hosts", old) != 200:
        fail("the session cookie does not work outside the browser")
    b.find("#signout").click()
    b.wait("the sign-in page", lambda: b.all("#token"))
    if d.get_cookie("provisioner_session"):
        fail("the cookie outlived the sign-out")
    status = b.js("return fetch('/api/v1/hosts').then(r => r.status)")
    if status != 401:
        fail(f"after sign-out the API answered {status}")
    if api_status("/api/v1/hosts", old) != 401:
        fail("the signed-out cookie is still accepted")
    host_token = open(os.path.join(SYNC, "host.token")).read().strip()
    b.find("#token").send_keys(host_token + Keys.ENTER)
    b.wait("a host token refused", lambda: "a host's token cannot sign in" in b.text("form.signin [role=alert]"))
    b.shot("signed-out")
    b.console("sign-out", ("api/v1/hosts - Failed to load resource: the server responded with a status of 401",
                           "api/v1/session - Failed to load resource: the server responded with a status of 401"))
    d.quit()
    log(f"passed; {len(b.shots)} screenshots in {SHOTS}")


if __name__ == "__main__":
    main()
