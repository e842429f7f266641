"""Trent's OCI image as users start it (docs/container.md): built by scripts/image from the
binary under test without pulling anything, run with podman, driven with boto3 — secure by
default (SigV4 over the development TLS, credentials and CA in the /data volume, a seed file
mounted with TRENT_INIT), and in the CI mode (accept-any over plain HTTP) that LocalStack and
local-kms users expect."""
import os
import stat

import boto3
import pytest
from botocore.config import Config

from conftest import REGION, free_port, import_material
from containers import Podman, podman  # noqa: F401  (the fixture)
from containers import required

pytestmark = required
IMAGE = "localhost/trent:e2e"
SEED_KEY = ("AKIATESTSEEDCONTAINER1", "test-only-secret-of-the-container-seed-0")
SEEDED = "22222222-3333-4444-5555-666666666666"


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    built = Podman(str(tmp_path_factory.mktemp("image"))).build_image(IMAGE)
    assert built.startswith(IMAGE) and " MB" in built, built
    return IMAGE


def kms(endpoint, creds, ca=None):
    return boto3.client("kms", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=creds[0], aws_secret_access_key=creds[1],
                        verify=ca if ca else True, config=Config(retries={"max_attempts": 1}))


def test_image_is_small_unprivileged_and_declares_its_port_volume_and_health(podman, image):
    inspected = podman.inspect(image)
    cfg = inspected["Config"]
    assert cfg["User"] == "10001:10001"
    assert "4599/tcp" in cfg["ExposedPorts"]
    assert "/data" in cfg["Volumes"]
    assert cfg["Entrypoint"] == ["/usr/local/bin/trent"] and cfg["Cmd"] == ["serve"]
    assert inspected["Healthcheck"]["Test"] == ["CMD", "/usr/local/bin/trent", "health"]
    # Nothing but the binary, the libraries it links, CA certificates and passwd: no shell.
    p = podman.run("run", "--rm", "--entrypoint", "/bin/sh", image, "-c", "true", check=False)
    assert p.returncode != 0
    version = podman.run("run", "--rm", image, "--version").stdout
    assert version.startswith("trent ")


def test_default_image_serves_sigv4_over_tls_with_a_mounted_seed(podman, image, tmp_path):
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "seed.toml").write_text(f'''
[[access_keys]]
id = "{SEED_KEY[0]}"
secret = "{SEED_KEY[1]}"

[[keys]]
id = "{SEEDED}"
aliases = ["alias/ci"]
''')
    # The container runs as 10001: what it reads from the host must be readable by others.
    os.chmod(seed, 0o755)
    os.chmod(seed / "seed.toml", 0o644)
    volume = podman.volume()
    port = free_port()
    name = podman.start(image, "-v", f"{volume}:/data", "-v", f"{seed}:/seed:ro",
                        "-e", "TRENT_INIT=/seed/seed.toml", "-p", f"127.0.0.1:{port}:4599")
    podman.wait_healthy(name)
    logs = podman.logs(name)
    assert "trent is serving" in logs and "tls=true" in logs
    assert SEED_KEY[1] not in logs

    # The development CA and the root's credentials are in the volume, for `podman cp`.
    podman.run("cp", f"{name}:/data/tls/ca.pem", str(tmp_path / "ca.pem"))
    client = kms(f"https://localhost:{port}", SEED_KEY, ca=str(tmp_path / "ca.pem"))
    blob = client.encrypt(KeyId="alias/ci", Plaintext=b"in a container")["CiphertextBlob"]
    assert client.decrypt(CiphertextBlob=blob)["KeyId"].endswith(SEEDED)
    key = client.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    import_material(client, key, os.urandom(32), ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    imported = client.encrypt(KeyId=key, Plaintext=b"byok")["CiphertextBlob"]
    # Plain HTTP is refused: the port speaks TLS only.
    with pytest.raises(Exception):
        kms(f"http://localhost:{port}", SEED_KEY).list_keys()

    # Files in the volume belong to the unprivileged user, secrets owner-only.
    mount = podman.run("volume", "inspect", volume, "--format", "{{.Mountpoint}}").stdout.strip()
    for f, mode in (("", 0o700), ("root.key", 0o600), ("credentials", 0o600)):
        st = os.stat(os.path.join(mount, f))
        assert st.st_uid == 10001 and stat.S_IMODE(st.st_mode) == mode, (f, oct(st.st_mode), st.st_uid)
    pid = podman.inspect(name)["State"]["Pid"]
    uids = [l for l in open(f"/proc/{pid}/status") if l.startswith("Uid:")][0].split()[1:]
    assert set(uids) == {"10001"}

    # A restart keeps everything (the volume) and seeds nothing twice.
    podman.run("restart", "-t", "10", name)
    podman.wait_healthy(name)
    assert client.decrypt(CiphertextBlob=imported)["Plaintext"]
    assert [a["AliasName"] for a in client.list_aliases()["Aliases"] if a["AliasName"] == "alias/ci"] == ["alias/ci"]


def test_ci_mode_accept_any_over_plain_http(podman, image):
    port = free_port()
    name = podman.start(image, "-e", "TRENT_AUTH=accept-any", "-e", "TRENT_ALLOW_REMOTE_ACCEPT_ANY=true",
                        "-e", "TRENT_TLS_SELF_SIGNED=false", "-e", "TRENT_ALLOW_PLAINTEXT=true",
                        "-p", f"127.0.0.1:{port}:4599")
    podman.wait_healthy(name)  # the same health check follows the settings: plain HTTP now
    client = kms(f"http://localhost:{port}", ("AKIAANYTHING", "anything"))
    key = client.create_key()["KeyMetadata"]["KeyId"]
    blob = client.encrypt(KeyId=key, Plaintext=b"ci")["CiphertextBlob"]
    assert client.decrypt(CiphertextBlob=blob)["Plaintext"] == b"ci"
    # accept-any on a non-loopback address without the explicit permission is refused.
    refused = podman.run("run", "--rm", "-e", "TRENT_AUTH=accept-any", "-e", "TRENT_ALLOW_PLAINTEXT=true",
                         "-e", "TRENT_TLS_SELF_SIGNED=false", image, check=False)
    assert refused.returncode != 0 and "--allow-remote-accept-any" in refused.stderr
