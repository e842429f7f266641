"""The HTTP ceiling, measured with an independent load generator (issue 17): wrk, one thread,
replaying one presigned request (Trent still verifies its SigV4 signature every time; the
signature stays valid for the five minutes of clock skew SigV4 allows: a run replays each
request within about two minutes of signing it), against
`trent bench-baseline` answering every POST with a body as large as Trent's answer to that
request (the same binary, runtime and allocator, no KMS work) and against `trent serve`.
Used by scripts/bench; `scripts/bench --ceiling-only` runs it alone and rewrites only its
section of docs/performance.md.
"""
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ACCOUNT = "111122223333"
BEGIN, END = "<!-- ceiling: begin -->", "<!-- ceiling: end -->"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url, proc, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, f"{proc.args} exited"
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


def presign(endpoint, akid, secret, operation, payload):
    """One signed KMS request: its body and headers (botocore's SigV4, as the SDK signs)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    body = json.dumps(payload)
    req = AWSRequest(method="POST", url=endpoint + "/", data=body,
                     headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"TrentService.{operation}"})
    SigV4Auth(Credentials(akid, secret), "kms", "us-east-1").add_auth(req)
    return body, {k: v for k, v in req.headers.items() if k.lower() != "host"}


def send(endpoint, body, headers):
    req = urllib.request.Request(endpoint + "/", data=body.encode(), headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read()


def lua(path, body, headers):
    level = "=" * 8
    lines = ['wrk.method = "POST"', f"wrk.body = [{level}[{body}]{level}]"]
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def parse_ms(text):
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url, script, connections, duration, pid=None):
    """wrk's figures; with the server's `pid`, also the CPU it used (cores, µs per request)."""
    cpu0 = cpu_seconds(pid) if pid else None
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script, url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    pct = {p: parse_ms(v) for p, v in re.findall(r"^\s+(50|90|99)%\s+(\S+)", out, re.M)}
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    r = {"rps": rps, "p50_ms": pct.get("50"), "p90_ms": pct.get("90"), "p99_ms": pct.get("99"),
         "non2xx": int(non2xx.group(1)) if non2xx else 0, "connections": connections}
    if pid:
        cpu = cpu_seconds(pid) - cpu0
        r["cores"] = cpu / duration
        r["us_per_request"] = cpu / (rps * duration) * 1e6
    return r


# Frames of the Encrypt path, as perf names them, and what they stand for (a frame's share
# includes what it calls).
FRAMES = [
    ("trent_server::listener::serve_io", "everything a connection does (hyper, the handler, the writes)"),
    ("trent_server::audit::<impl trent_server::AppState>::audit_call", "the audit record: built and handed to the journal"),
    ("trent_core::audit::api_call::ApiCall::to_records", "  of which the record's compact form"),
    ("trent_trail::journal::file::FileAudit::drain", "the journal's group-committed writes: chain digests, write(2)"),
    ("ext4_buffered_write_iter", "  of which the file system's write (ext4)"),
    ("trent_server::dispatch::", "the operation: decode, authorize, encrypt, encode"),
    ("trent_core::ops::crypto::<impl trent_core::Kms>::encrypt_any::{{closure}}", "  of which AES-256-GCM and the ciphertext blob"),
    ("trent_sigv4::verify_signature", "SigV4 verification"),
    ("<hyper::proto::h1::role::Server as hyper::proto::h1::Http1Transaction>::parse", "HTTP/1.1 request parsing"),
    ("__x64_sys_sendto", "kernel: sending answers"),
    ("do_fsync", "the journal's fsync every 5 s (off the request path)"),
    ("__x64_sys_recvfrom", "kernel: receiving requests"),
]


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def profile(pid, url, script, connections, seconds=5):
    """perf's share of each frame of FRAMES in the server's CPU during an Encrypt load, and
    the microseconds per request it makes; `None` where perf is missing or not allowed."""
    if shutil.which("perf") is None:
        return None
    data = os.path.join(tempfile.mkdtemp(prefix="trent-perf-"), "perf.data")
    # The CPU a request costs, measured without perf (perf's unwinding would add to it).
    cpu0 = cpu_seconds(pid)
    plain = wrk(url, script, connections, seconds)
    cpu = cpu_seconds(pid) - cpu0
    rps = plain["rps"]
    load = subprocess.Popen(["wrk", "-t1", f"-c{connections}", f"-d{seconds + 4}s", "-s", script, url],
                            stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1)
        rec = subprocess.run(["perf", "record", "-F", "299", "--call-graph", "dwarf,8192", "-p", str(pid), "-o", data,
                              "--", "sleep", str(seconds)], capture_output=True, text=True)
        load.communicate()
        if rec.returncode != 0:
            return None
        report = subprocess.run(["perf", "report", "-i", data, "--children", "--sort", "symbol", "--stdio", "-g", "none"],
                                capture_output=True, text=True).stdout
    finally:
        shutil.rmtree(os.path.dirname(data), ignore_errors=True)
    shares = {}
    for line in report.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+[\d.]+%\s+\[[.k]\]\s+(.*?)\s*$", line)
        if not m:
            continue
        for frame, _ in FRAMES:
            if m.group(2).startswith(frame) and frame not in shares:
                shares[frame] = float(m.group(1))
    us_per_request = cpu / (rps * seconds) * 1e6
    return {"us_per_request": us_per_request, "rps": rps, "cpu_s": cpu, "seconds": seconds,
            "frames": [(what, shares.get(frame, 0.0)) for frame, what in FRAMES]}


def node_runs(trent, data, extra, connections, duration, name):
    """Against a fresh node started with `extra` (its store), each 2 s warm-up then measured:
    Encrypt 1 KiB as the account root (reads no database), and UpdateKeyDescription (one
    write transaction per call: the version-checked update, and NOTIFY on PostgreSQL). The
    node runs without request quotas: this measures the store, and one account's writes
    past 1,000 a second would otherwise be throttled (docs/configuration.md)."""
    import boto3
    from botocore.config import Config
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    d = os.path.join(data, name)
    srv = subprocess.Popen([trent, "serve", "--data-dir", d, "--listen", f"127.0.0.1:{port}", "--log", "warn",
                            "--wrapping-pool-size", "0", "--quotas", "off", *extra])
    try:
        wait_up(endpoint + "/health", srv)
        creds = dict(l.strip().split(" = ") for l in open(os.path.join(d, "credentials")) if " = " in l)
        root = (creds["aws_access_key_id"], creds["aws_secret_access_key"])
        kms = boto3.client("kms", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=root[0],
                           aws_secret_access_key=root[1], config=Config(retries={"max_attempts": 1}))
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        calls = {
            "encrypt": ("Encrypt", {"KeyId": key, "Plaintext": base64.b64encode(os.urandom(1024)).decode()}),
            "update-key-description": ("UpdateKeyDescription", {"KeyId": key, "Description": "bench"}),
        }
        out = {}
        for workload, (operation, payload) in calls.items():
            body, headers = presign(endpoint, *root, operation, payload)
            send(endpoint, body, headers)
            script = os.path.join(data, f"{name}-{workload}.lua")
            lua(script, body, headers)
            wrk(endpoint + "/", script, connections, 2)
            out[workload] = wrk(endpoint + "/", script, connections, duration)
        return out
    finally:
        srv.send_signal(signal.SIGTERM)
        try:
            srv.wait(timeout=10)
        except subprocess.TimeoutExpired:
            srv.kill()


def stores(trent, connections, duration):
    """Encrypt on a SQLite node and on a node of a real PostgreSQL (scripts/ephemeral-postgres),
    one after the other: the hot path reads no database, so they should be alike. `None` where
    PostgreSQL is not installed."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ephemeral-postgres")
    data = tempfile.mkdtemp(prefix="trent-stores-")
    cluster = os.path.join(data, "pg")
    try:
        started = subprocess.run([script, "start", cluster], capture_output=True, text=True)
        if started.returncode != 0:
            return None
        url = started.stdout.strip()
        sqlite = node_runs(trent, data, [], connections, duration, "sqlite")
        postgres = node_runs(trent, data, ["--database-url", url], connections, duration, "postgres")
        return {"sqlite": sqlite, "postgres": postgres}
    finally:
        subprocess.run([script, "stop", cluster], capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


def steal_jiffies():
    """(steal, total) clock ticks of all CPUs from /proc/stat: the share the hypervisor gave to
    other guests while this VM wanted to run. On a shared VM that share moves every figure."""
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return fields[7] if len(fields) > 7 else 0, sum(fields[:8])


def steal_share(since):
    """The steal share (percent) of the CPUs' time since `since` (a `steal_jiffies()`)."""
    steal, total = steal_jiffies()
    return 100 * (steal - since[0]) / max(1, total - since[1])


def rsa4096_sign_ms():
    """OpenSSL's own RSA-4096 private-key operation on one core, in ms (`openssl speed`): a
    yardstick of this machine's speed at the time of the run, to compare runs by (the import's
    unwrap is the same operation); `None` without openssl."""
    if shutil.which("openssl") is None:
        return None
    out = subprocess.run(["openssl", "speed", "-seconds", "2", "rsa4096"], capture_output=True, text=True).stdout
    m = re.search(r"^rsa 4096 bits\s+([\d.]+)s", out, re.M)
    return float(m.group(1)) * 1000 if m else None


def warm_memory(spare_gib=2):
    """Touches all but `spare_gib` GiB of the memory the kernel has available, once, in a
    child process that then exits; returns (GiB touched, seconds). A new VM's memory is given
    to it by the host on first touch, so until a page has been used once every page the page
    cache takes costs a fault in the host, and an audit trail appending 30 MB/s pays it in
    its write(2) and fsync. Measured here on a new VM: a new 1 GiB file written and fsynced
    took 3.8 s of system time, 0.9 s after 20 GiB had been touched once (that touching took
    96 s: about 210 MB/s). A server that has run for a while has used its memory, so the runs
    are measured after this warm-up (seconds on a VM whose memory is already used)."""
    avail = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemAvailable:")) * 1024
    gib = max(0, avail // (1 << 30) - spare_gib)
    start = time.time()
    subprocess.run([sys.executable, "-c", f"chunks = [b'\\1' * (1 << 30) for _ in range({gib})]"], check=True)
    return gib, time.time() - start


def rss_mb(pid):
    return int(open(f"/proc/{pid}/status").read().split("VmRSS:")[1].split()[0]) / 1024


def run(trent, duration=8, connections=32, sweep=(8, 16, 32, 64)):
    """Rows (name, workload, result) and facts (idle RSS, response size)."""
    import boto3
    from botocore.config import Config
    data = tempfile.mkdtemp(prefix="trent-ceiling-")
    procs = []
    warmed = warm_memory()
    since = steal_jiffies()
    yardstick = rsa4096_sign_ms()
    try:
        port = free_port()
        endpoint = f"http://127.0.0.1:{port}"
        d = os.path.join(data, "d")
        srv = subprocess.Popen([trent, "serve", "--data-dir", d, "--listen", f"127.0.0.1:{port}", "--log", "warn",
                                "--wrapping-pool-size", "0"])
        procs.append(srv)
        wait_up(endpoint + "/health", srv)
        creds = dict(l.strip().split(" = ") for l in open(os.path.join(d, "credentials")) if " = " in l)
        root = (creds["aws_access_key_id"], creds["aws_secret_access_key"])
        time.sleep(1)
        idle = rss_mb(srv.pid)
        kms = boto3.client("kms", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=root[0],
                           aws_secret_access_key=root[1], config=Config(retries={"max_attempts": 1}))
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        # The normal production caller: an IAM user allowed by an identity policy, with a grant.
        admin = [trent, "admin", "--data-dir", d]
        subprocess.run(admin + ["create-user", "--account-id", ACCOUNT, "--user-name", "app"], check=True,
                       capture_output=True)
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*",
                  "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"]}]}
        subprocess.run(admin + ["put-user-policy", "--account-id", ACCOUNT, "--user-name", "app", "--policy-name",
                                "app", "--policy-document", json.dumps(policy)], check=True, capture_output=True)
        made = subprocess.run(admin + ["create-access-key", "--account-id", ACCOUNT, "--user-name", "app"],
                              check=True, capture_output=True, text=True).stdout
        made = json.loads(made)
        made = made.get("AccessKey", made)
        user = (made["AccessKeyId"], made["SecretAccessKey"])
        kms.create_grant(KeyId=key, GranteePrincipal=f"arn:aws:iam::{ACCOUNT}:user/app",
                         Operations=["Encrypt", "Decrypt", "GenerateDataKey"])
        plaintext = base64.b64encode(os.urandom(1024)).decode()
        ciphertext = base64.b64encode(kms.encrypt(KeyId=key, Plaintext=os.urandom(1024))["CiphertextBlob"]).decode()
        requests = {
            "encrypt": presign(endpoint, *root, "Encrypt", {"KeyId": key, "Plaintext": plaintext}),
            "encrypt-iam-user": presign(endpoint, *user, "Encrypt", {"KeyId": key, "Plaintext": plaintext}),
            "decrypt": presign(endpoint, *root, "Decrypt", {"CiphertextBlob": ciphertext}),
            "generate-data-key": presign(endpoint, *root, "GenerateDataKey", {"KeyId": key, "KeySpec": "AES_256"}),
        }
        scripts = {}
        sizes = {}
        for name, (body, headers) in requests.items():
            sizes[name] = len(send(endpoint, body, headers))  # checks it is answered 200
            scripts[name] = os.path.join(data, f"{name}.lua")
            lua(scripts[name], body, headers)
        bport = free_port()
        base = subprocess.Popen([trent, "bench-baseline", "--listen", f"127.0.0.1:{bport}", "--answer-bytes",
                                 str(sizes["encrypt"])])
        procs.append(base)
        wait_up(f"http://127.0.0.1:{bport}/", base)
        # Warm both up (connections, caches, the allocator's pools) before anything is measured.
        wrk(f"http://127.0.0.1:{bport}/", scripts["encrypt"], connections, 2)
        wrk(endpoint + "/", scripts["encrypt"], connections, 2)
        rows = [("baseline", "POST, answer as large as Encrypt's",
                 wrk(f"http://127.0.0.1:{bport}/", scripts["encrypt"], connections, duration, base.pid))]
        for name in requests:
            rows.append(("trent", name, wrk(endpoint + "/", scripts[name], connections, duration, srv.pid)))
        for c in sweep:
            if c != connections:
                rows.append(("trent", f"encrypt c={c}", wrk(endpoint + "/", scripts["encrypt"], c, duration, srv.pid)))
        loaded = rss_mb(srv.pid)
        facts = {"idle_rss_mb": idle, "loaded_rss_mb": loaded, "encrypt_answer_bytes": sizes["encrypt"],
                 "duration": duration, "connections": connections}
        facts["steal_percent"] = steal_share(since)
        facts["rsa4096_sign_ms"] = yardstick
        facts["warmed"] = warmed
        facts["profile"] = profile(srv.pid, endpoint + "/", scripts["encrypt"], connections)
        srv.send_signal(signal.SIGTERM)
        base.send_signal(signal.SIGTERM)
        facts["stores"] = stores(trent, connections, duration)
        return rows, facts
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(data, ignore_errors=True)


def budget_at_70(baseline):
    """The server's µs of CPU per call at 70% of the ceiling: wrk needs 70% of the cores it
    used against the baseline, and the server has the rest for that many calls a second."""
    return (2 - 0.7 * (2 - baseline["cores"])) / (0.7 * baseline["rps"]) * 1e6


def markdown(rows, info):
    base = next(r for s, _, r in rows if s == "baseline")["rps"]
    c = info["connections"]
    out = [
        BEGIN,
        "## The HTTP ceiling, measured with wrk",
        "",
        "Method: `wrk -t1 -c<N> --latency` (Debian's wrk, one thread: a light load generator, so its own cost",
        "does not hide the server's) replays one presigned request — Trent verifies its SigV4 signature on every",
        "call — for " + f"{info['duration']} s each, after 2 s of warm-up. The ceiling is `trent bench-baseline`, the same binary, runtime and allocator",
        f"answering every POST with a body as large as Trent's Encrypt answer ({info['encrypt_answer_bytes']} bytes) and doing",
        "no KMS work. Encrypt and the IAM user's Encrypt take 1 KiB of plaintext; the IAM user is allowed by an",
        "identity policy and holds a grant (the account root is allowed by the key policy alone).",
        "",
        "The server's CPU is read from /proc during each run: cores it used, and µs of its CPU per request",
        "(the figure that moves least from run to run).",
        "",
        "| Server | Workload | connections | req/s | share of the ceiling | server cores | server µs/request | p50 ms | p90 ms | p99 ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s, w, r in rows:
        share = "" if s == "baseline" else f"{100 * r['rps'] / base:.0f}%"
        bad = f" ({r['non2xx']} not 2xx)" if r.get("non2xx") else ""
        out.append(f"| {s} | {w}{bad} | {r['connections']} | {r['rps']:.0f} | {share} | {r['cores']:.2f} | "
                   f"{r['us_per_request']:.1f} | {r['p50_ms']:.3f} | {r['p90_ms']:.3f} | {r['p99_ms']:.3f} |")
    encrypt = [r for s, w, r in rows if s == "trent" and w.startswith("encrypt") and "iam" not in w]
    best = max(encrypt, key=lambda r: r["rps"])
    b = next(r for s, _, r in rows if s == "baseline")
    e = next(r for s, w, r in rows if s == "trent" and w == "encrypt")
    budget_us = budget_at_70(b)
    out += ["", f"- The baseline used {b['cores']:.2f} cores at {b['rps']:.0f} req/s: the ceiling is wrk's own thread, "
            "which takes the rest of the two cores. Trent's Encrypt costs its server "
            f"{e['us_per_request']:.1f} µs of CPU against the baseline's {b['us_per_request']:.1f} µs: the KMS work is "
            f"{e['us_per_request'] - b['us_per_request']:.1f} µs per call. 70% of the ceiling would need about "
            f"{budget_us:.0f} µs (the cores wrk leaves at that rate, shared by that many calls).",
            f"- Best Encrypt throughput at {best['connections']} connections: {best['rps']:.0f} req/s, "
            f"p99 {best['p99_ms']:.3f} ms.",
            f"- RSS: {info['idle_rss_mb']:.1f} MB idle, {info['loaded_rss_mb']:.1f} MB after these runs.",
            "- On this shared 2-core VM the same run varies by up to a third from one minute to the next (compare "
            "the 32-connection Encrypt row with the profile's rate below): read the shares, not single figures.",
            f"- Steal during these runs: {info['steal_percent']:.0f}% of the two vCPUs' time went to other guests "
            "(/proc/stat). Where it is more than a few percent every figure above is slower than the code is, and "
            "the server, which wants both cores, loses more to it than the wrk-bound baseline."]
    if info.get("rsa4096_sign_ms"):
        out.append(f"- This machine's speed at the time: `openssl speed rsa4096` signs in {info['rsa4096_sign_ms']:.2f} ms "
                   "(one core). The host's speed moves between sessions with no steal (the same code's micro-benchmarks by up to 1.8x); compare runs by it.")
    if info.get("warmed"):
        gib, secs = info["warmed"]
        out.append(f"- Before the runs, {gib} GiB of memory were touched once and freed ({secs:.0f} s; `warm_memory`): on a new "
                   "VM the host allocates a page on its first use (a new 1 GiB file written and fsynced took 3.8 s of "
                   "system time before that, 0.9 s after). The audit trail's write(2) and fsync still cost what the "
                   "host's disk path costs at the time: see their shares in the profile below.")
    st = info.get("stores")
    if st:
        out += ["", "### A node on PostgreSQL", "",
                f"On a new SQLite node, then on a new node of a real PostgreSQL (`scripts/ephemeral-postgres`, same "
                f"machine, {c} connections): Encrypt as above (no database read), and UpdateKeyDescription (one "
                "write transaction per call).", "",
                "| Workload | Store | req/s | vs SQLite | p50 ms | p99 ms |", "|---|---|---:|---:|---:|---:|"]
        for workload in st["sqlite"]:
            sq, pg = st["sqlite"][workload], st["postgres"][workload]
            out += [f"| {workload} | SQLite | {sq['rps']:.0f} |  | {sq['p50_ms']:.3f} | {sq['p99_ms']:.3f} |",
                    f"| {workload} | PostgreSQL | {pg['rps']:.0f} | {100 * pg['rps'] / sq['rps']:.0f}% | "
                    f"{pg['p50_ms']:.3f} | {pg['p99_ms']:.3f} |"]
    p = info.get("profile")
    if p:
        out += ["", "### Where an Encrypt's time goes", "",
                f"Encrypt as above for {p['seconds']} s: {p['rps']:.0f} req/s for {p['cpu_s']:.2f} CPU-seconds of the server, "
                f"{p['us_per_request']:.1f} µs of CPU per request; then `perf record -F 299 --call-graph dwarf` of the "
                f"server for {p['seconds']} s more under the same load gives each frame's share. A frame's share includes "
                "what it calls; the rest is tokio's scheduling, the kernel's wake-ups and the allocator.", "",
                "| Frame | share of the server's CPU | µs per request |", "|---|---:|---:|"]
        for what, share in p["frames"]:
            out.append(f"| {what} | {share:.1f}% | {share / 100 * p['us_per_request']:.1f} |")
    out.append(END)
    return out


# The micro-benchmarks (median) that add up to the work an Encrypt of 1 KiB must do whatever
# the server around it: verify SigV4 over its body, decode it, seal the plaintext in a
# ciphertext blob, encode the answer, and build and chain its audit record.
FLOOR = ["sigv4_verify", "decode_encrypt_request", "blob_encrypt/1024", "encode_encrypt_response",
         "audit_record_of_encrypt"]


def micro_medians(table):
    """{bench name: median µs} from divan's table (nested benches as `parent/arg`)."""
    units = {"ns": 1e-3, "µs": 1.0, "ms": 1e3, "s": 1e6}
    out, parent = {}, None
    for line in table:
        m = re.match(r"^([│ ]*)[├╰]─ (\S+)(.*)$", line)
        if not m:
            continue
        cells = [c.strip() for c in m.group(3).split("│")]
        name = m.group(2) if not m.group(1).strip() else f"{parent}/{m.group(2)}"
        if len(cells) < 3 or not cells[2]:
            parent = m.group(2)
            continue
        value, unit = cells[2].split()
        out[name] = float(value) * units[unit]
    return out


def floor_lines(table, rows):
    """What the 70% target leaves for the KMS work, against what that work costs measured
    alone in the same run (lines for docs/performance.md; none if a figure is missing)."""
    medians = micro_medians(table)
    if any(n not in medians for n in FLOOR):
        return []
    b = next(r for s, _, r in rows if s == "baseline")
    budget = budget_at_70(b) - b["us_per_request"]
    floor = sum(medians[n] for n in FLOOR)
    parts = ", ".join(f"{n} {medians[n]:.2f}" for n in FLOOR)
    e = next(r for s, w, r in rows if s == "trent" and w == "encrypt")
    rest = e["us_per_request"] - b["us_per_request"] - floor
    verdict = ("more than the target leaves: it cannot be met on this machine while each call does this work"
               if floor >= budget else f"which leaves {budget - floor:.1f} µs for everything else a call does")
    return ["", "### What the 70% target leaves for the KMS work", "",
            f"At 70% of the ceiling the server has about {budget:.1f} µs per call beyond what the baseline spends "
            f"(the ceiling section's figures of this run). The work an Encrypt of 1 KiB must do, measured alone by "
            f"the micro-benchmarks above (medians, µs: {parts}), adds up to {floor:.1f} µs, {verdict}. On top of it "
            "come the hand-off from hyper to the domain, authorization, the key and policy caches, the audit trail's "
            f"write(2) and the task that runs the call: {rest:.1f} µs in the 32-connection Encrypt row."]


def replace_section(text, lines):
    """`text` with its ceiling section replaced by `lines` (or inserted after the title)."""
    section = "\n".join(lines)
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        return head + section + rest.split(END, 1)[1]
    title, _, rest = text.partition("\n")
    return title + "\n\n" + section + "\n" + rest
