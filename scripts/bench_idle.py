#!/usr/bin/env python3
"""Idle memory and start-up time of the release server (issue 13); run by scripts/bench-idle.

    bench_idle.py BINARY DATA_DIR [starts]

Starts `BINARY serve` on DATA_DIR (SQLite, no demo data) `starts` times (3) in a row. Each
time: (a) the time from exec to the first 200 of /healthz (polled every 5 ms); (b) VmRSS
30 s after start with no request but the health check; (c) a short load — sign-ins of a
citizen, an official and the operator (one password hash each), then 400 page views at 4
at a time (home, the citizen's list and submissions, the official's inbox, the operator's
list, search, analytics) — then VmRSS after 30 s and 60 s idle; (d) the peak (VmHWM). Then
SIGTERM. Prints one line per start and the min / median of each figure. MB are 10^6
bytes; the attribution (smaps) is left to the reader: `OTKLIK_BENCH_HOLD=1` keeps the
last server running and prints its pid.
"""

import http.cookiejar
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

PASSWORD = "bench-pass-2026"
DOMAIN = "demo.otklik.local"
PORT = 18931
BASE = f"http://127.0.0.1:{PORT}"
IDLE = 30


def status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def kb(pid, key):
    return int(status(pid)[key].split()[0])


def get(opener, path):
    with opener.open(BASE + path, timeout=30) as response:
        body = response.read()
        return response.status, body


def session(email):
    jar = http.cookiejar.CookieJar()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(jar), NoRedirect()
    )
    _, html = get(opener, "/login")
    csrf = re.search(rb'name="csrf" value="([^"]+)"', html).group(1).decode()
    form = urllib.parse.urlencode(
        {"csrf": csrf, "email": f"{email}@{DOMAIN}", "password": PASSWORD}
    ).encode()
    try:
        opener.open(BASE + "/login", data=form, timeout=30)
        raise SystemExit(f"{email}: the sign-in did not redirect")
    except urllib.error.HTTPError as e:
        if e.code != 303:
            raise SystemExit(f"{email}: sign-in answered {e.code}")
    return opener


def load(newest):
    citizen = session("ivan.petrov")
    official = session("mintrans.tver")
    operator = session("operator")
    anonymous = urllib.request.build_opener()
    views = []
    for i in range(400):
        kind = i % 8
        if kind == 0:
            views.append((anonymous, "/"))
        elif kind == 1:
            views.append((citizen, "/my"))
        elif kind == 2:
            views.append((citizen, f"/submissions/{newest - i * 997 % newest}"))
        elif kind == 3:
            views.append((official, "/inbox"))
        elif kind == 4:
            views.append((official, f"/submissions/{newest - i * 7919 % newest}"))
        elif kind == 5:
            views.append((operator, "/operator"))
        elif kind == 6:
            word = ["маршрут автобуса", "яма", "фонари", "мусор", "крыша"][i % 5]
            views.append((citizen, "/search?q=" + urllib.parse.quote(word)))
        else:
            views.append((operator, "/analytics"))

    def view(item):
        opener, path = item
        code, _ = get(opener, path)
        return code

    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(view, views))
    bad = [c for c in codes if c != 200]
    if bad:
        raise SystemExit(f"{len(bad)} page views failed: {bad[:5]}")
    return len(codes)


def wait_healthy(proc, started):
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(BASE + "/healthz", timeout=1) as r:
                if r.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.005)


def newest_submission(data_dir):
    import sqlite3

    db = sqlite3.connect(f"file:{data_dir}/otklik.db?mode=ro", uri=True)
    (newest,) = db.execute("SELECT MAX(id) FROM submissions").fetchone()
    db.close()
    return newest


def main():
    binary, data_dir = sys.argv[1], sys.argv[2]
    starts = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    newest = newest_submission(data_dir)
    env = dict(os.environ, OTKLIK_LOG=os.environ.get("OTKLIK_LOG", "warn"))
    rows = []
    for n in range(starts):
        log = open(os.path.join(data_dir, f"bench-idle-{n}.log"), "w")
        started = time.monotonic()
        proc = subprocess.Popen(
            [binary, "serve", "--listen", f"127.0.0.1:{PORT}", "--data-dir", data_dir,
             "--no-demo"],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
        up = wait_healthy(proc, started)
        time.sleep(max(0.0, IDLE - (time.monotonic() - started)))
        idle = kb(proc.pid, "VmRSS")
        threads = int(status(proc.pid)["Threads"])
        t = time.monotonic()
        views = load(newest)
        load_s = time.monotonic() - t
        loaded = kb(proc.pid, "VmRSS")
        time.sleep(IDLE)
        after = kb(proc.pid, "VmRSS")
        # Sign-in blocks are given back 30 s after the last hash, then the allocator's
        # decay returns them within ~10 s more.
        time.sleep(IDLE)
        later = kb(proc.pid, "VmRSS")
        peak = kb(proc.pid, "VmHWM")
        rows.append((up, idle, loaded, after, later, peak))
        print(
            f"start {n + 1}: healthy after {up * 1000:.0f} ms; VmRSS idle {idle / 1000:.0f} MB "
            f"({threads} threads); {views} page views in {load_s:.1f} s, VmRSS right after "
            f"{loaded / 1000:.0f} MB, {IDLE} s later {after / 1000:.0f} MB, "
            f"{2 * IDLE} s later {later / 1000:.0f} MB; VmHWM {peak / 1000:.0f} MB",
            flush=True,
        )
        if os.environ.get("OTKLIK_BENCH_HOLD") == "1" and n == starts - 1:
            print(f"holding pid {proc.pid}")
            return
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    with open("/proc/loadavg") as f:
        print("loadavg:", f.read().strip())
    names = ["start-up", "idle VmRSS", "after load", "after load + 30 s",
             "after load + 60 s", "VmHWM"]
    for i, name in enumerate(names):
        values = [r[i] for r in rows]
        if i == 0:
            print(f"{name}: min {min(values) * 1000:.0f} ms, "
                  f"median {statistics.median(values) * 1000:.0f} ms")
        else:
            print(f"{name}: min {min(values) / 1000:.0f} MB, "
                  f"median {statistics.median(values) / 1000:.0f} MB")


if __name__ == "__main__":
    main()
