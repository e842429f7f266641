"""What a careless operator leaves open, and an attacker next to it tries: accept-any on a
network address or behind a rebound name, a secret on a mistyped configuration line, loose
file modes, a symlink planted where a backup goes, a restart with `--init` after a deletion.
(A connection table full of trickled bodies: test_limits.py.)"""
import json
import os
import socket
import stat
import subprocess
import time

import pytest

from conftest import TRENT, Server, free_port

SECRET = "Sup3r-s3cret-Pa55word"


def run_serve(tmp_path, *args, timeout=20):
    return subprocess.run([TRENT, "serve", "--data-dir", str(tmp_path / "d"), *args],
                          capture_output=True, text=True, timeout=timeout)


def http(port, request):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out.decode(errors="replace")


def test_accept_any_listens_on_loopback_only_and_answers_only_loopback_names(make_server, tmp_path):
    p = run_serve(tmp_path, "--auth", "accept-any", "--listen", f"0.0.0.0:{free_port()}")
    assert p.returncode != 0 and "listens only on loopback" in p.stderr, p.stderr
    s = make_server(extra=["--auth", "accept-any", "--wrapping-pool-size", "0"]).start()
    body = b"{}"
    for host, ok in (("localhost:1", True), (f"127.0.0.1:{s.port}", True),
                     ("evil.example:4599", False), ("localhost.evil.example", False)):
        out = http(s.port, (f"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-amz-json-1.1\r\n"
                            f"X-Amz-Target: TrentService.ListKeys\r\nContent-Length: {len(body)}\r\n"
                            "Connection: close\r\n\r\n").encode() + body)
        if ok:
            assert out.startswith("HTTP/1.1 200"), (host, out)
        else:
            assert out.startswith("HTTP/1.1 400") and '"__type":"AccessDeniedException"' in out, (host, out)
            assert '"Keys"' not in out
    # The console too: a rebound page cannot read it either.
    out = http(s.port, b"GET / HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
    assert out.startswith("HTTP/1.1 400"), out


def test_a_parse_error_names_the_line_and_never_the_secret(tmp_path):
    cfg = tmp_path / "trent.toml"
    cfg.write_text(f'listen = "127.0.0.1:{free_port()}"\ndatabase_url = "postgres://trent:{SECRET}@db/trent\n')
    p = run_serve(tmp_path, "--config", str(cfg))
    assert p.returncode != 0 and "line 2" in p.stderr, p.stderr
    assert SECRET not in p.stderr + p.stdout
    cfg.write_text(f'max_connections = "{SECRET}"\n')
    p = run_serve(tmp_path, "--config", str(cfg))
    assert p.returncode != 0 and "line 1" in p.stderr and SECRET not in p.stderr + p.stdout, p.stderr
    seed = tmp_path / "seed.toml"
    seed.write_text(f'[[access_keys]]\nid = "AKIASEEDTEST00000001"\nsecret = {SECRET}\n')
    p = run_serve(tmp_path, "--init", str(seed), "--listen", f"127.0.0.1:{free_port()}")
    assert p.returncode != 0 and "line 3" in p.stderr, p.stderr
    assert SECRET not in p.stderr + p.stdout


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_files_are_kept_as_an_hsm_vendor_keeps_them(tmp_path):
    data = tmp_path / "data"
    s = Server(data).start()
    assert s.stop() == 0
    assert mode(data) == 0o700 and mode(data / "root.key") == 0o600
    # Loosened by hand: the directory and the private files are made private again, and the
    # log says which; a root key others could read stops the start, as ssh refuses a key.
    os.chmod(data, 0o755)
    os.chmod(data / "credentials", 0o644)
    os.chmod(data / "trent.db", 0o644)
    s.start()
    assert s.stop() == 0
    assert mode(data) == 0o700 and mode(data / "credentials") == 0o600 and mode(data / "trent.db") == 0o600
    log = open(s.log_path).read()
    assert "made the data directory 0700" in log and "credentials" in log
    os.chmod(data / "root.key", 0o644)
    p = subprocess.run([TRENT, "serve", "--data-dir", str(data), "--listen", f"127.0.0.1:{free_port()}"],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode != 0 and "root.key is readable by other users" in p.stderr, p.stderr
    os.chmod(data / "root.key", 0o600)
    s.start()
    try:
        assert mode(data / "admin.sock") == 0o600
        # A backup never follows a link planted where it goes, and is owner-only.
        target = tmp_path / "elsewhere"
        link = tmp_path / "backup.db"
        os.symlink(target, link)
        p = subprocess.run([TRENT, "admin", "--data-dir", str(data), "backup", "--to", str(link)],
                           capture_output=True, text=True)
        assert p.returncode != 0 and not target.exists(), p.stderr
        good = tmp_path / "good.db"
        subprocess.run([TRENT, "admin", "--data-dir", str(data), "backup", "--to", str(good)], check=True,
                       capture_output=True)
        assert mode(good) == 0o600
    finally:
        assert s.stop() == 0
    # A restore writes the database owner-only, whatever the backup's own mode.
    os.chmod(good, 0o644)
    subprocess.run([TRENT, "admin", "--data-dir", str(data), "restore", "--from", str(good)], check=True,
                   capture_output=True)
    assert mode(data / "trent.db") == 0o600


KEY = "11111111-2222-3333-4444-555555555555"
IMPORTED = "22222222-3333-4444-5555-666666666666"


def test_seeding_never_undoes_a_deletion(tmp_path):
    (tmp_path / "material.bin").write_bytes(bytes(range(32)))
    seed = tmp_path / "seed.toml"
    seed.write_text(f'''
[[keys]]
id = "{KEY}"

[[keys]]
id = "{IMPORTED}"
origin = "EXTERNAL"
material_file = "material.bin"
''')
    s = Server(tmp_path / "data", ("--wrapping-pool-size", "0", "--dev-clock", "--init", str(seed))).start()
    try:
        kms = s.client()
        kms.schedule_key_deletion(KeyId=KEY, PendingWindowInDays=7)
        kms.delete_imported_key_material(KeyId=IMPORTED)
        subprocess.run([TRENT, "admin", "--data-dir", s.data_dir, "clock", "advance", "8d"], check=True,
                       capture_output=True)
        assert [k["KeyId"] for k in kms.list_keys()["Keys"]] == [IMPORTED]
    finally:
        assert s.stop() == 0
    s.start()
    try:
        kms = s.client()
        assert [k["KeyId"] for k in kms.list_keys()["Keys"]] == [IMPORTED], "a deleted key came back"
        assert kms.describe_key(KeyId=IMPORTED)["KeyMetadata"]["KeyState"] == "PendingImport", \
            "deleted key material came back"
    finally:
        assert s.stop() == 0
    log = open(s.log_path).read()
    assert "seeding does not make it again" in log and "seeding imports only into keys it makes" in log
