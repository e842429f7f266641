"""Settings come from flags, then TRENT_* environment variables, then the TOML file."""
import os


def test_toml_file_and_environment(make_server, tmp_path):
    cfg = tmp_path / "trent.toml"
    cfg.write_text('account_id = "123456789012"\nlog = "debug"\nwrapping_pool_size = 1\n')
    s = make_server("from-file", extra=["--config", str(cfg)])
    s.start()
    key = s.client().create_key()["KeyMetadata"]
    assert key["AWSAccountId"] == "123456789012"
    assert key["Arn"].startswith("arn:aws:kms:us-east-1:123456789012:key/")
    # The pool of one key pair per spec serves GetParametersForImport.
    ext = s.client().create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    p = s.client().get_parameters_for_import(KeyId=ext, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                             WrappingKeySpec="RSA_4096")
    assert len(p["PublicKey"]) == 550
    assert s.stop() == 0
    # The environment wins over the file.
    e = make_server("from-env", extra=["--config", str(cfg)])
    e.env = dict(os.environ, TRENT_ACCOUNT_ID="210987654321")
    e.start()
    assert e.client().create_key()["KeyMetadata"]["AWSAccountId"] == "210987654321"


def test_bad_configuration_is_refused(tmp_path):
    import subprocess
    from conftest import TRENT
    cfg = tmp_path / "bad.toml"
    cfg.write_text('no_such_setting = 1\n')
    p = subprocess.run([TRENT, "serve", "--config", str(cfg), "--data-dir", str(tmp_path / "d")],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode != 0 and "no_such_setting" in p.stderr
    p = subprocess.run([TRENT, "serve", "--account-id", "12", "--data-dir", str(tmp_path / "d")],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode != 0 and "12 digits" in p.stderr


def test_a_port_alone_listens_on_loopback_and_a_taken_port_leaves_nothing_behind(tmp_path):
    import subprocess
    import time
    import urllib.request
    from conftest import TRENT, free_port
    port = free_port()
    first = subprocess.Popen([TRENT, "serve", "--listen", str(port), "--data-dir", str(tmp_path / "first"),
                              "--wrapping-pool-size", "0"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                    assert r.status == 200
                    break
            except OSError:
                time.sleep(0.05)
        else:
            raise AssertionError("a port alone did not listen on 127.0.0.1")
        # The port is taken: a second server says so before it makes a data directory.
        p = subprocess.run([TRENT, "serve", "--listen", f"localhost:{port}", "--data-dir", str(tmp_path / "second")],
                           capture_output=True, text=True, timeout=20)
        assert p.returncode != 0 and f"cannot listen on 127.0.0.1:{port}" in p.stderr, p.stderr
        assert not (tmp_path / "second").exists()
    finally:
        first.terminate()
        first.wait(timeout=20)
    p = subprocess.run([TRENT, "serve", "--listen", "somewhere:1", "--data-dir", str(tmp_path / "third")],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode != 0 and "use 127.0.0.1:4599, localhost:4599, :4599 or 4599" in p.stderr, p.stderr
