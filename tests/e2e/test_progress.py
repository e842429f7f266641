"""Progress of long operator work as a person and a pipeline see it: `trent admin create-keys`
through a running server's admin socket and on its own, `backup`, `restore` and `trent bench`
write plain progress lines to standard error when it is not a terminal (a CI log), and draw a
bar on a terminal (a pseudo-terminal from `script`); standard output keeps the answer alone."""
import json
import re
import shutil
import subprocess

import pytest

from conftest import TRENT


def run(*args):
    p = subprocess.run([TRENT, *args], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return p


def test_create_keys_through_the_server_reports_progress_lines(server):
    p = run("admin", "--data-dir", server.data_dir, "create-keys", "--account-id", "111122223333",
            "--count", "25000")
    assert json.loads(p.stdout)["Created"] == 25000
    # The last line is the whole: the count, the rate; no time left.
    last = p.stderr.strip().splitlines()[-1]
    assert re.fullmatch(r"trent: creating keys: 25,000 of 25,000 keys \(100%\), [\d,]+ keys/s", last), last


def test_backup_and_restore_report_progress_lines(make_server, tmp_path):
    s = make_server().start()
    run("admin", "--data-dir", s.data_dir, "create-keys", "--account-id", "111122223333", "--count", "20000")
    backup = tmp_path / "b.db"
    p = run("admin", "--data-dir", s.data_dir, "backup", "--to", str(backup))
    assert json.loads(p.stdout)
    assert re.search(r"^trent: backing up: [\d.]+ [KMG]iB of [\d.]+ [KMG]iB \(\d+%\)", p.stderr, re.M), p.stderr
    assert s.stop() == 0
    p = run("admin", "--data-dir", s.data_dir, "restore", "--from", str(backup))
    assert json.loads(p.stdout)["Restored"] == str(backup)
    assert re.search(r"^trent: restoring: ([\d.]+ [KMG]iB) of \1 \(100%\)", p.stderr, re.M), p.stderr


def test_bench_reports_progress_and_keeps_stdout_for_the_report(server):
    p = run("bench", "--endpoint", server.endpoint, "--credentials", server.credentials_file,
            "--workload", "encrypt", "--requests", "200", "--connections", "2", "--json")
    assert json.loads(p.stdout)["requests"] == 200
    assert "trent: bench encrypt: 200 of 200 requests (100%)" in p.stderr


@pytest.mark.skipif(not shutil.which("script"), reason="util-linux script is not installed")
def test_a_terminal_gets_a_bar(server):
    # `script` runs the command on a pseudo-terminal, as a person at a terminal would.
    cmd = f"{TRENT} admin --data-dir {server.data_dir} create-keys --account-id 111122223333 --count 30000"
    p = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout
    assert "creating keys [" in p.stdout and "keys (" in p.stdout, p.stdout
    assert "trent: creating keys:" not in p.stdout  # no plain lines on a terminal
