#!/usr/bin/env python3
"""Soak run: a steady mixed load on one Portcullis server for a fixed time.

Starts `portcullis serve` on a fresh temporary data directory, then runs, at
fixed rates each, pulls (a bearer token from /oauth2/token, the manifest,
the layer blob, checked byte for byte), pushes (a token, two monolithic
`POST ...?digest=` blob uploads and a manifest PUT, all drawn from a fixed
pool so the stored data stays a bounded working set), logins on
/oauth2/token, portal page reads as a signed-in administrator and token
changes through /api/v1 (create, disable, regenerate password1, delete).

Every --sample-seconds it records the server's RSS (VmRSS, VmHWM), threads,
open file descriptors, CPU time, the database files' sizes (and the part of
the database that is the audit log, from SQLite's dbstat), the data
directory's size, the audit row count, and requests, errors and p50/p99
latency per kind in that window, into a CSV. At the end it stops the server,
writes a PNG and prints a summary.

    python3 bench/soak.py                      # 20 minutes, default rates
    python3 bench/soak.py --minutes 2          # a short run, to check the script
    PORTCULLIS_BIN=/path/to/portcullis python3 bench/soak.py --out /tmp/soak

Standard library only, except matplotlib for the PNG
(python3 -m pip install matplotlib; without it the PNG is skipped).
The binary is not built here: build it first (make release), or point
PORTCULLIS_BIN / --bin at one.
"""

import argparse
import base64
import csv
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ADMIN_PASSWORD = "soak-admin-password"
REPOSITORIES = ["soak/app0", "soak/app1", "soak/app2", "soak/app3"]
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
KINDS = ["pull", "push", "login", "portal", "token"]


def parse_args():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=20.0, help="length of the load (default 20)")
    p.add_argument("--bin", default=os.environ.get("PORTCULLIS_BIN", os.path.join(root, "target/release/portcullis")))
    p.add_argument("--site-root", default=os.path.join(root, "target/site"))
    p.add_argument("--out", default=os.path.join(root, "target/soak"), help="CSV, PNG, summary and server log go here")
    p.add_argument("--sample-seconds", type=float, default=10.0)
    p.add_argument("--pulls", type=float, default=20.0, help="pulls per second (token + manifest + blob)")
    p.add_argument("--pushes", type=float, default=2.0, help="pushes per second (token + 2 blob POSTs + manifest PUT)")
    p.add_argument("--logins", type=float, default=10.0, help="extra /oauth2/token logins per second")
    p.add_argument("--portal", type=float, default=2.0, help="portal page reads per second")
    p.add_argument("--token-changes", type=float, default=0.5,
                   help="token change cycles per second (each: create, disable, regenerate, delete)")
    p.add_argument("--pool", type=int, default=24, help="images in the fixed pool (each pushed to every repository)")
    p.add_argument("--max-layer-kib", type=int, default=256)
    return p.parse_args()


# ---------------------------------------------------------------- HTTP


class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body)


class Client:
    """One keep-alive connection; reconnects once when the server closed it."""

    def __init__(self, port):
        self.port = port
        self.conn = None
        self.cookies = {}

    def request(self, method, path, body=None, headers=None, cookies=False):
        headers = dict(headers or {})
        if cookies and self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection the server closed between requests.
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        hs = {}
        for k, v in r.getheaders():
            k = k.lower()
            if k == "set-cookie" and cookies:
                name, _, rest = v.partition("=")
                value = rest.split(";", 1)[0]
                if "max-age=0" in v.lower() or value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = value
            hs[k] = v if k not in hs else hs[k] + ", " + v
        if r.getheader("connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        return Answer(r.status, hs, data)


def basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


class Unexpected(Exception):
    def __init__(self, step, answer, expected):
        body = answer.body[:300].decode("utf-8", "replace") if answer is not None else ""
        status = answer.status if answer is not None else None
        super().__init__(f"{step}: {status} (expected {expected}) {body}")
        self.step, self.status, self.body = step, status, body


def expect(step, answer, *statuses):
    if answer.status not in statuses:
        raise Unexpected(step, answer, "/".join(map(str, statuses)))
    return answer


# ---------------------------------------------------------------- pool


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def make_pool(n, max_kib):
    rnd = random.Random(20261203)
    pool = []
    for i in range(n):
        size = rnd.randint(1, max_kib) * 1024
        layer = rnd.randbytes(size)
        config = json.dumps({"architecture": "amd64", "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": [sha(layer)]},
                             "config": {"Labels": {"soak": str(i)}}}).encode()
        manifest = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST_TYPE,
                               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                          "digest": sha(config), "size": len(config)},
                               "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                           "digest": sha(layer), "size": len(layer)}]}).encode()
        pool.append({"tag": f"t{i}", "layer": layer, "layer_digest": sha(layer),
                     "config": config, "config_digest": sha(config), "manifest": manifest,
                     "manifest_digest": sha(manifest)})
    return pool


# ---------------------------------------------------------------- load


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.window = {k: [] for k in KINDS}       # latencies (s) of ops done in this window
        self.window_errors = {k: 0 for k in KINDS}
        self.window_lag = {k: 0.0 for k in KINDS}  # how late an op started against its schedule (max)
        self.total = {k: 0 for k in KINDS}
        self.errors = {k: 0 for k in KINDS}
        self.examples = {}                         # (kind, step, status) -> [count, first message]
        self.requests = {k: 0 for k in KINDS}

    def done(self, kind, seconds, requests, lag, error=None):
        with self.lock:
            self.window[kind].append(seconds)
            self.window_lag[kind] = max(self.window_lag[kind], lag)
            self.total[kind] += 1
            self.requests[kind] += requests
            if error is not None:
                self.window_errors[kind] += 1
                self.errors[kind] += 1
                key = (kind, getattr(error, "step", type(error).__name__), getattr(error, "status", None))
                if key in self.examples:
                    self.examples[key][0] += 1
                else:
                    self.examples[key] = [1, str(error)]

    def take_window(self):
        with self.lock:
            w, e, l = self.window, self.window_errors, self.window_lag
            self.window = {k: [] for k in KINDS}
            self.window_errors = {k: 0 for k in KINDS}
            self.window_lag = {k: 0.0 for k in KINDS}
            return w, e, l


def percentile(values, q):
    if not values:
        return ""
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


class Load:
    def __init__(self, port, service, pool, secrets, stats, site_ok):
        self.port, self.service, self.pool, self.secrets, self.stats = port, service, pool, secrets, stats
        self.site_ok = site_ok
        self.counter = 0
        self.counter_lock = threading.Lock()

    def token(self, c, user, password, scope, step="token"):
        q = urllib.parse.urlencode({"service": self.service, "scope": scope})
        a = expect(step, c.request("GET", f"/oauth2/token?{q}", headers=basic(user, password)), 200)
        return a.json()["token"]

    # One pull: what `docker pull` of a one-layer image asks, minus the config.
    def pull(self, c, rnd):
        item = rnd.choice(self.pool)
        repo = rnd.choice(REPOSITORIES)
        t = self.token(c, "soak-pull", self.secrets["soak-pull"], f"repository:{repo}:pull")
        auth = {"Authorization": f"Bearer {t}"}
        a = expect("manifest GET", c.request("GET", f"/v2/{repo}/manifests/{item['tag']}",
                                             headers={**auth, "Accept": MANIFEST_TYPE}), 200)
        if a.body != item["manifest"]:
            raise Unexpected("manifest GET (wrong bytes)", a, "the pushed manifest")
        a = expect("blob GET", c.request("GET", f"/v2/{repo}/blobs/{item['layer_digest']}", headers=auth), 200)
        if sha(a.body) != item["layer_digest"]:
            raise Unexpected("blob GET (wrong bytes)", a, "the pushed layer")
        return 3

    # One push of a pool image: both blobs again (the registry keeps one copy)
    # and the manifest under its tag.
    def push(self, c, rnd, item=None, repo=None):
        item = item or rnd.choice(self.pool)
        repo = repo or rnd.choice(REPOSITORIES)
        t = self.token(c, "soak-push", self.secrets["soak-push"], f"repository:{repo}:pull,push")
        auth = {"Authorization": f"Bearer {t}"}
        for part in ("layer", "config"):
            expect(f"{part} POST ?digest=", c.request(
                "POST", f"/v2/{repo}/blobs/uploads/?digest={item[part + '_digest']}", body=item[part],
                headers={**auth, "Content-Type": "application/octet-stream"}), 201)
        expect("manifest PUT", c.request("PUT", f"/v2/{repo}/manifests/{item['tag']}", body=item["manifest"],
                                         headers={**auth, "Content-Type": MANIFEST_TYPE}), 201)
        return 4

    def login(self, c, rnd):
        repo = rnd.choice(REPOSITORIES)
        self.token(c, "soak-login", self.secrets["soak-login"], f"repository:{repo}:pull", step="login")
        return 1

    def sign_in(self, c):
        a = expect("portal session", c.request("GET", "/portal/session", cookies=True), 200)
        csrf = a.json()["csrf_token"]
        form = urllib.parse.urlencode({"username": "admin", "password": ADMIN_PASSWORD, "csrf_token": csrf})
        expect("portal sign_in", c.request("POST", "/portal/sign_in", body=form, cookies=True,
                                           headers={"Content-Type": "application/x-www-form-urlencoded"}), 200)

    PAGES = [("/tokens", b"soak-pull"), ("/repositories", b"soak/app0")]

    def portal(self, c, rnd):
        path, needle = self.PAGES[rnd.randrange(len(self.PAGES))]
        a = expect(f"page {path}", c.request("GET", path, cookies=True, headers={"Accept": "text/html"}), 200)
        if needle not in a.body:
            raise Unexpected(f"page {path} (content)", a, f"HTML naming {needle.decode()}")
        return 1

    def token_change(self, c, rnd):
        with self.counter_lock:
            self.counter += 1
            name = f"soak-churn-{self.counter}"
        admin = {**basic("admin", ADMIN_PASSWORD), "Content-Type": "application/json"}
        expect("token create", c.request("POST", "/api/v1/tokens", headers=admin,
                                         body=json.dumps({"name": name, "scopeMap": "soak-read"})), 201)
        expect("token disable", c.request("PATCH", f"/api/v1/tokens/{name}", headers=admin,
                                          body=json.dumps({"status": "disabled"})), 200)
        expect("token regenerate", c.request("POST", f"/api/v1/tokens/{name}/credentials", headers=admin,
                                             body=json.dumps({"password1": True})), 200)
        expect("token delete", c.request("DELETE", f"/api/v1/tokens/{name}", headers=admin), 204)
        return 4


class Schedule:
    """Fixed-rate arrivals shared by a kind's workers: op k is due at t0 + k/rate."""

    def __init__(self, rate, t0, end):
        self.rate, self.t0, self.end = rate, t0, end
        self.k = 0
        self.lock = threading.Lock()

    def next_due(self):
        with self.lock:
            due = self.t0 + self.k / self.rate
            self.k += 1
        return due if due < self.end else None


def worker(kind, op, schedule, load, stats, seed, prepare=None):
    rnd = random.Random(seed)
    c = Client(load.port)
    if prepare:
        prepare(c)
    while True:
        due = schedule.next_due()
        if due is None:
            return
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        start = time.monotonic()
        try:
            n = op(c, rnd)
            stats.done(kind, time.monotonic() - start, n, start - due)
        except Unexpected as e:
            stats.done(kind, time.monotonic() - start, 1, start - due, e)
        except Exception as e:  # a socket error or timeout is an error too
            if c.conn:
                c.conn.close()
            c.conn = None
            stats.done(kind, time.monotonic() - start, 1, start - due, e)


# ---------------------------------------------------------------- server


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dir_bytes(path):
    total = files = 0
    for root, _, names in os.walk(path):
        for n in names:
            try:
                st = os.lstat(os.path.join(root, n))
            except FileNotFoundError:
                continue
            total += st.st_size
            files += 1
    return total, files


def db_facts(db):
    """Audit rows, and the bytes of the audit log's pages (table + indexes), read-only."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        rows = con.execute("SELECT COUNT(*) FROM audit_log").fetchone()[0]
        logins = con.execute("SELECT COUNT(*) FROM audit_log WHERE action = 'login'").fetchone()[0]
        audit_names = {r[0] for r in con.execute(
            "SELECT name FROM sqlite_schema WHERE tbl_name = 'audit_log'")}
        audit_bytes = other_bytes = 0
        for name, size in con.execute("SELECT name, pgsize FROM dbstat WHERE aggregate = TRUE"):
            if name in audit_names:
                audit_bytes += size
            else:
                other_bytes += size
        free = con.execute("PRAGMA freelist_count").fetchone()[0] * con.execute("PRAGMA page_size").fetchone()[0]
        return rows, logins, audit_bytes, other_bytes, free
    finally:
        con.close()


def file_size(path):
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


# ---------------------------------------------------------------- main


def main():
    args = parse_args()
    if not os.access(args.bin, os.X_OK):
        sys.exit(f"soak: no executable at {args.bin} (build it with `make release`, or set PORTCULLIS_BIN)")
    os.makedirs(args.out, exist_ok=True)
    site_files = os.path.isdir(os.path.join(args.site_root, "pkg")) and bool(os.listdir(os.path.join(args.site_root, "pkg")))
    work = tempfile.mkdtemp(prefix="portcullis-soak.", dir=os.environ.get("TMPDIR", "/var/tmp"))
    data = os.path.join(work, "data")
    db = os.path.join(data, "portcullis.db")
    port = free_port()
    env = {**os.environ, "PORTCULLIS_ADMIN_PASSWORD": ADMIN_PASSWORD, "PORTCULLIS_LOG": "warn",
           "PORTCULLIS_RATE_LIMIT_READS": "0", "PORTCULLIS_RATE_LIMIT_WRITES": "0"}
    log_path = os.path.join(args.out, "server.log")
    log = open(log_path, "wb")
    server = subprocess.Popen([args.bin, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data,
                               "--site-root", args.site_root], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        run(args, server, port, data, db, work, site_files, log_path)
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(work, ignore_errors=True)


def run(args, server, port, data, db, work, site_files, log_path):
    pid = server.pid
    c = Client(port)
    for _ in range(150):
        try:
            a = c.request("GET", "/v2/")
            break
        except OSError:
            c.conn = None
            if server.poll() is not None:
                sys.exit(f"soak: the server exited ({server.returncode}); see {log_path}")
            time.sleep(0.2)
    else:
        sys.exit("soak: the server does not answer on /v2/ after 30 s")
    challenge = a.header("www-authenticate") or ""
    service = challenge.split('service="', 1)[1].split('"', 1)[0] if 'service="' in challenge else f"127.0.0.1:{port}"

    # Fixtures: scope maps and the three long-lived tokens the load uses.
    admin = {**basic("admin", ADMIN_PASSWORD), "Content-Type": "application/json"}
    rw = ["content/read", "content/write", "metadata/read"]
    for name, actions in (("soak-rw", rw), ("soak-read", ["content/read", "metadata/read"])):
        expect("setup scope map", c.request("POST", "/api/v1/scope-maps", headers=admin, body=json.dumps(
            {"name": name, "repositories": [{"repository": "soak/*", "actions": actions}]})), 201)
    secrets = {}
    for name, scope_map in (("soak-pull", "soak-read"), ("soak-login", "soak-read"), ("soak-push", "soak-rw")):
        a = expect("setup token", c.request("POST", "/api/v1/tokens", headers=admin,
                                            body=json.dumps({"name": name, "scopeMap": scope_map})), 201)
        secrets[name] = a.json()["credentials"]["passwords"][0]["value"]

    stats = Stats()
    pool = make_pool(args.pool, args.max_layer_kib)
    load = Load(port, service, pool, secrets, stats, site_files)
    # The working set: every pool image in every repository, before the clock starts.
    rnd = random.Random(1)
    for repo in REPOSITORIES:
        for item in pool:
            load.push(c, rnd, item, repo)
    pool_bytes = sum(len(i["layer"]) + len(i["config"]) for i in pool)
    print(f"soak: server pid {pid} on 127.0.0.1:{port}, data {data}; pool {len(pool)} images, "
          f"{pool_bytes / 2**20:.1f} MiB of blobs, pushed to {len(REPOSITORIES)} repositories; "
          f"site root {args.site_root} ({'has pkg/' if site_files else 'NO pkg/ files'})", flush=True)

    t0 = time.monotonic() + 0.5
    end = t0 + args.minutes * 60
    plan = [  # kind, op, rate, threads
        ("pull", load.pull, args.pulls, 6),
        ("push", load.push, args.pushes, 3),
        ("login", load.login, args.logins, 2),
        ("portal", load.portal, args.portal, 2),
        ("token", load.token_change, args.token_changes, 2),
    ]
    threads = []
    for kind, op, rate, n in plan:
        if rate <= 0:
            continue
        sched = Schedule(rate, t0, end)
        for i in range(n):
            prepare = load.sign_in if kind == "portal" else None
            t = threading.Thread(target=worker, args=(kind, op, sched, load, stats, hash((kind, i)), prepare),
                                 daemon=True)
            t.start()
            threads.append(t)

    csv_path = os.path.join(args.out, "soak.csv")
    fields = ["t_s", "rss_mib", "hwm_mib", "threads", "fds", "cpu_s", "db_mib", "wal_mib", "shm_mib",
              "db_audit_mib", "db_other_mib", "db_free_mib", "data_mib", "data_files", "audit_rows", "audit_logins",
              "loadavg1"]
    for k in KINDS:
        fields += [f"{k}_n", f"{k}_err", f"{k}_p50_ms", f"{k}_p99_ms", f"{k}_lag_max_ms"]
    rows = []

    def sample(t):
        st = proc_status(pid)
        rss = int(st["VmRSS"].split()[0]) / 1024
        hwm = int(st["VmHWM"].split()[0]) / 1024
        audit_rows, logins, audit_b, other_b, free_b = db_facts(db)
        data_b, data_files = dir_bytes(data)
        w, e, l = stats.take_window()
        row = {"t_s": round(t, 1), "rss_mib": round(rss, 2), "hwm_mib": round(hwm, 2),
               "threads": int(st["Threads"]), "fds": len(os.listdir(f"/proc/{pid}/fd")),
               "cpu_s": round(cpu_seconds(pid), 2),
               "db_mib": round(file_size(db) / 2**20, 3), "wal_mib": round(file_size(db + "-wal") / 2**20, 3),
               "shm_mib": round(file_size(db + "-shm") / 2**20, 3),
               "db_audit_mib": round(audit_b / 2**20, 3), "db_other_mib": round(other_b / 2**20, 3),
               "db_free_mib": round(free_b / 2**20, 3),
               "data_mib": round(data_b / 2**20, 3), "data_files": data_files,
               "audit_rows": audit_rows, "audit_logins": logins, "loadavg1": os.getloadavg()[0]}
        for k in KINDS:
            row[f"{k}_n"] = len(w[k])
            row[f"{k}_err"] = e[k]
            p50, p99 = percentile(w[k], 0.5), percentile(w[k], 0.99)
            row[f"{k}_p50_ms"] = round(p50 * 1000, 2) if p50 != "" else ""
            row[f"{k}_p99_ms"] = round(p99 * 1000, 2) if p99 != "" else ""
            row[f"{k}_lag_max_ms"] = round(l[k] * 1000, 1)
        rows.append(row)
        return row

    stats.take_window()
    first = sample(0.0)
    print(f"soak: t=0 RSS {first['rss_mib']:.1f} MiB, fds {first['fds']}, db {first['db_mib']:.2f} MiB, "
          f"audit rows {first['audit_rows']}", flush=True)
    next_t = t0 + args.sample_seconds
    while True:
        now = time.monotonic()
        if next_t > end + 0.01:
            break
        time.sleep(max(0, next_t - now))
        if server.poll() is not None:
            print(f"soak: the server exited ({server.returncode}) during the load; see {log_path}", flush=True)
            break
        r = sample(next_t - t0)
        next_t += args.sample_seconds
        if int(r["t_s"]) % 60 == 0:
            done = " ".join(f"{k} {r[k + '_n']}/{r[k + '_err']}e p99 {r[k + '_p99_ms']}" for k in KINDS)
            print(f"soak: t={r['t_s']:.0f}s RSS {r['rss_mib']:.1f} MiB (peak {r['hwm_mib']:.1f}), fds {r['fds']}, "
                  f"db {r['db_mib'] + r['wal_mib']:.2f} MiB, data {r['data_mib']:.1f} MiB, "
                  f"audit {r['audit_rows']}; last window: {done}", flush=True)
    for t in threads:
        t.join(120)
    late = [t for t in threads if t.is_alive()]

    # Stop the server: it flushes its audit queue before it exits.
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(60)
    except subprocess.TimeoutExpired:
        print("soak: the server did not exit within 60 s of SIGTERM", flush=True)
    after_rows, after_logins, after_audit_b, after_other_b, _ = db_facts(db)
    after_db = sum(file_size(db + s) for s in ("", "-wal", "-shm"))

    with open(csv_path, "w", newline="") as f:
        wcsv = csv.DictWriter(f, fieldnames=fields)
        wcsv.writeheader()
        wcsv.writerows(rows)
    summary = summarise(args, rows, stats, after_rows, after_logins, after_db, after_audit_b, after_other_b,
                        server.returncode, late, log_path, site_files)
    with open(os.path.join(args.out, "summary.txt"), "w") as f:
        f.write(summary)
    print(summary, flush=True)
    plot(rows, os.path.join(args.out, "soak.png"), args)


def mean(xs):
    return sum(xs) / len(xs) if xs else float("nan")


def slope_per_hour(ts, ys):
    n = len(ts)
    if n < 2:
        return float("nan")
    mt, my = mean(ts), mean(ys)
    den = sum((t - mt) ** 2 for t in ts)
    return sum((t - mt) * (y - my) for t, y in zip(ts, ys)) / den * 3600 if den else float("nan")


def summarise(args, rows, stats, after_rows, after_logins, after_db, after_audit_b, after_other_b, rc, late,
              log_path, site_files):
    out = []
    p = out.append
    last_t = rows[-1]["t_s"]
    dur = last_t
    first_min = [r for r in rows if 0 < r["t_s"] <= 60]
    last_min = [r for r in rows if r["t_s"] > last_t - 60]
    half = [r for r in rows if r["t_s"] >= last_t / 2]
    p(f"== soak summary: {dur / 60:.1f} min of load, samples every {args.sample_seconds:g} s, binary {args.bin}")
    p(f"rates/s: pulls {args.pulls:g}, pushes {args.pushes:g}, logins {args.logins:g}, portal pages {args.portal:g}, "
      f"token change cycles {args.token_changes:g}; site root {args.site_root} "
      f"({'with pkg/' if site_files else 'without pkg/ files'})")
    p(f"RSS MiB: before the load {rows[0]['rss_mib']:.1f}, first minute mean {mean([r['rss_mib'] for r in first_min]):.1f}, "
      f"last minute mean {mean([r['rss_mib'] for r in last_min]):.1f}, end {rows[-1]['rss_mib']:.1f}, "
      f"peak (VmHWM) {rows[-1]['hwm_mib']:.1f}; slope over the last half "
      f"{slope_per_hour([r['t_s'] for r in half], [r['rss_mib'] for r in half]):+.2f} MiB/h")
    p(f"open fds: before the load {rows[0]['fds']}, first minute mean {mean([r['fds'] for r in first_min]):.1f}, "
      f"last minute mean {mean([r['fds'] for r in last_min]):.1f}, end {rows[-1]['fds']}, "
      f"max {max(r['fds'] for r in rows)}; threads before {rows[0]['threads']}, end {rows[-1]['threads']}, "
      f"max {max(r['threads'] for r in rows)}")
    p(f"server CPU: {rows[-1]['cpu_s'] - rows[0]['cpu_s']:.0f} s over the load "
      f"({(rows[-1]['cpu_s'] - rows[0]['cpu_s']) / dur * 100:.0f} % of one core); machine load average "
      f"{min(r['loadavg1'] for r in rows):.1f}-{max(r['loadavg1'] for r in rows):.1f}")
    dbf = lambda r: r["db_mib"] + r["wal_mib"] + r["shm_mib"]
    p(f"database MiB (db + wal + shm): start {dbf(rows[0]):.2f}, end of load {dbf(rows[-1]):.2f}, "
      f"max {max(dbf(r) for r in rows):.2f}, after stop {after_db / 2**20:.2f}; "
      f"wal max {max(r['wal_mib'] for r in rows):.2f}")
    a0, a1 = rows[0], rows[-1]
    hours = dur / 3600
    p(f"  audit log pages: {a0['db_audit_mib']:.2f} -> {a1['db_audit_mib']:.2f} MiB "
      f"({(a1['db_audit_mib'] - a0['db_audit_mib']) / hours:.1f} MiB/h); everything else: "
      f"{a0['db_other_mib']:.2f} -> {a1['db_other_mib']:.2f} MiB "
      f"({(a1['db_other_mib'] - a0['db_other_mib']) / hours:+.2f} MiB/h); free pages at end {a1['db_free_mib']:.2f} MiB")
    p(f"  after stop: audit pages {after_audit_b / 2**20:.2f} MiB, everything else {after_other_b / 2**20:.2f} MiB")
    p(f"audit rows: start {a0['audit_rows']}, end of load {a1['audit_rows']}, after stop {after_rows} "
      f"(+{after_rows - a0['audit_rows']}, {(after_rows - a0['audit_rows']) / hours:.0f}/h; logins "
      f"+{after_logins - a0['audit_logins']}, others +{(after_rows - after_logins) - (a0['audit_rows'] - a0['audit_logins'])}); "
      f"bytes per row {((a1['db_audit_mib'] - a0['db_audit_mib']) * 2**20 / max(1, a1['audit_rows'] - a0['audit_rows'])):.0f}")
    p(f"data dir MiB: start {rows[0]['data_mib']:.2f} ({rows[0]['data_files']} files), end {rows[-1]['data_mib']:.2f} "
      f"({rows[-1]['data_files']} files), max {max(r['data_mib'] for r in rows):.2f}; without the database files: "
      f"start {rows[0]['data_mib'] - dbf(rows[0]):.2f}, end {rows[-1]['data_mib'] - dbf(rows[-1]):.2f}, "
      f"max {max(r['data_mib'] - dbf(r) for r in rows):.2f}")
    for k in KINDS:
        lat = [r[f"{k}_p99_ms"] for r in rows[1:] if r[f"{k}_p99_ms"] != ""]
        p50 = [r[f"{k}_p50_ms"] for r in rows[1:] if r[f"{k}_p50_ms"] != ""]
        p(f"{k:>6}: {stats.total[k]} ops ({stats.total[k] / dur:.2f}/s), {stats.requests[k]} requests, "
          f"{stats.errors[k]} errors; p50 of windows median {percentile(p50, 0.5) if p50 else '-'} ms; "
          f"p99 of windows median {percentile(lat, 0.5) if lat else '-'} ms, max {max(lat) if lat else '-'} ms; "
          f"first-minute p99 {mean([r[f'{k}_p99_ms'] for r in first_min if r[f'{k}_p99_ms'] != '']):.1f} ms, "
          f"last-minute {mean([r[f'{k}_p99_ms'] for r in last_min if r[f'{k}_p99_ms'] != '']):.1f} ms; "
          f"max start lag {max(r[f'{k}_lag_max_ms'] for r in rows):.0f} ms")
    if stats.examples:
        p("errors (kind, step, status: count, first example):")
        for (k, step, status), (n, msg) in sorted(stats.examples.items(), key=lambda x: -x[1][0]):
            p(f"  {k} / {step} / {status}: {n}x  {msg[:400]}")
    else:
        p("errors: none")
    if late:
        p(f"{len(late)} worker threads were still busy 120 s after the end")
    p(f"server exit status after SIGTERM: {rc}")
    with open(log_path, "rb") as f:
        lines = f.read().decode("utf-8", "replace").splitlines()
    warn = [l for l in lines if " WARN " in l or " ERROR " in l or "panicked" in l]
    p(f"server log: {len(lines)} lines, {len(warn)} WARN/ERROR/panic")
    for l in warn[:5]:
        p(f"  {l[:300]}")
    return "\n".join(out) + "\n"


def plot(rows, path, args):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("soak: matplotlib is missing, no PNG (python3 -m pip install matplotlib)")
        return
    t = [r["t_s"] / 60 for r in rows]
    fig, ax = plt.subplots(2, 2, figsize=(10, 6.4), dpi=80, sharex=True)
    a = ax[0][0]
    a.plot(t, [r["rss_mib"] for r in rows], label="RSS (VmRSS)")
    a.plot(t, [r["hwm_mib"] for r in rows], label="peak (VmHWM)", linestyle="--")
    a.set_ylabel("MiB"); a.set_title("server memory"); a.set_ylim(bottom=0); a.legend(fontsize=8)
    a = ax[0][1]
    a.plot(t, [r["fds"] for r in rows], label="open fds")
    a.plot(t, [r["threads"] for r in rows], label="threads")
    a.set_title("open file descriptors and threads"); a.set_ylim(bottom=0); a.legend(fontsize=8)
    a = ax[1][0]
    a.plot(t, [r["db_mib"] + r["wal_mib"] + r["shm_mib"] for r in rows], label="db + wal + shm files")
    a.plot(t, [r["db_audit_mib"] for r in rows], label="of which audit-log pages")
    a.plot(t, [r["db_other_mib"] for r in rows], label="all other pages")
    a.plot(t, [r["data_mib"] for r in rows], label="whole data dir")
    a.plot(t, [r["data_mib"] - r["db_mib"] - r["wal_mib"] - r["shm_mib"] for r in rows], label="data dir without db files")
    a.set_ylabel("MiB"); a.set_xlabel("minutes"); a.set_title("storage"); a.set_ylim(bottom=0); a.legend(fontsize=8)
    a = ax[1][1]
    for k in KINDS:
        pts = [(r["t_s"] / 60, r[f"{k}_p99_ms"]) for r in rows[1:] if r[f"{k}_p99_ms"] != ""]
        if pts:
            a.plot([x for x, _ in pts], [y for _, y in pts], label=k, linewidth=1)
    a.set_yscale("log"); a.set_ylabel("ms"); a.set_xlabel("minutes")
    a.set_title(f"p99 latency per {args.sample_seconds:g} s window (whole operation)"); a.legend(fontsize=8)
    fig.suptitle(f"Portcullis soak: {args.pulls:g} pulls, {args.pushes:g} pushes, {args.logins:g} logins, "
                 f"{args.portal:g} portal pages, {args.token_changes:g} token cycles per second", fontsize=10)
    fig.tight_layout()
    fig.savefig(path)
    print(f"soak: wrote {path} ({os.path.getsize(path) // 1024} KiB)")


if __name__ == "__main__":
    main()
