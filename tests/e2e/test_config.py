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
