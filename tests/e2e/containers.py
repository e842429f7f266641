"""podman for the container tests: Trent's image built by scripts/image from the binary under
test, run and inspected with the real podman (Debian's package), nothing pulled from a registry.

Machines whose kernel mixes cgroup v1 and v2 (this project's CI kind) or forbid raising
resource limits need two settings podman takes from a containers.conf: the runc runtime (crun
refuses hybrid cgroups) and open-file and process limits no higher than this process's own.
They are given in a file of the test's own (CONTAINERS_CONF), never in the host's
configuration."""
import glob
import json
import os
import re
import resource
import shutil
import subprocess
import time
import uuid

import pytest

from conftest import ROOT, TRENT

PODMAN = shutil.which("podman")
required = pytest.mark.skipif(not PODMAN and not os.environ.get("TRENT_E2E_ALL"),
                              reason="podman is not installed (scripts/setup installs it)")


def podman_env(tmp_dir):
    """The environment for podman and podman-compose: this machine's limits, runc if present."""
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    nofile = 65536 if nofile == resource.RLIM_INFINITY else min(nofile, 65536)
    nproc = 4096 if nproc == resource.RLIM_INFINITY else min(nproc, 4096)
    conf = os.path.join(tmp_dir, "containers.conf")
    with open(conf, "w") as f:
        f.write(f'[containers]\ndefault_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n')
        if shutil.which("runc"):
            f.write('[engine]\nruntime = "runc"\n')
    return dict(os.environ, CONTAINERS_CONF=conf)


class Podman:
    def __init__(self, tmp_dir):
        self.env = podman_env(tmp_dir)
        self.made = []  # containers and volumes to remove

    def run(self, *args, check=True, timeout=300):
        p = subprocess.run([PODMAN, *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)}: {p.stderr}")
        return p

    def build_image(self, tag):
        """scripts/image with the binary under test; returns what it printed (tag and size)."""
        p = subprocess.run([os.path.join(ROOT, "scripts", "image"), "--binary", TRENT, "--tag", tag],
                           env=self.env, capture_output=True, text=True, timeout=600)
        assert p.returncode == 0, p.stderr
        return p.stdout

    def build_postgres_image(self, tag, work):
        """tests/e2e/postgres-image: this machine's PostgreSQL (installed by scripts/setup) as an
        image, standing in for docker.io/library/postgres, which the tests may not pull."""
        bindir = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
        version = bindir.split("/")[-2]
        ctx = os.path.join(work, "postgres-image")
        rootfs = os.path.join(ctx, "rootfs")
        os.makedirs(os.path.join(ctx, "pgdata"), mode=0o700)
        programs = [os.path.join(bindir, p) for p in ("postgres", "initdb")] + ["/bin/dash"]
        modules = [m for m in glob.glob(f"/usr/lib/postgresql/{version}/lib/*.so") if "llvmjit" not in m]
        trees = [f"/usr/share/postgresql/{version}", "/usr/share/zoneinfo"]
        libs = set()
        for f in programs + modules:
            out = subprocess.run(["ldd", f], capture_output=True, text=True).stdout
            libs.update(re.findall(r"(/\S+) \(0x", out))
        for f in programs + modules + sorted(libs):
            dest = rootfs + f
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copy2(os.path.realpath(f), dest)
        for t in trees:
            shutil.copytree(t, rootfs + t, symlinks=True)
        os.symlink("dash", os.path.join(rootfs, "bin", "sh"))
        os.symlink(version + "/bin", os.path.join(rootfs, "usr/lib/postgresql/bin"))
        os.makedirs(os.path.join(rootfs, "etc"), exist_ok=True)
        with open(os.path.join(rootfs, "etc", "passwd"), "w") as f:
            f.write("root:x:0:0:root:/root:/bin/sh\npostgres:x:999:999:postgres:/var/lib/postgresql:/bin/sh\n")
        with open(os.path.join(rootfs, "etc", "group"), "w") as f:
            f.write("root:x:0:\npostgres:x:999:\n")
        os.makedirs(os.path.join(rootfs, "tmp"))
        os.chmod(os.path.join(rootfs, "tmp"), 0o1777)
        here = os.path.join(ROOT, "tests", "e2e", "postgres-image")
        shutil.copy2(os.path.join(here, "entrypoint.sh"), os.path.join(rootfs, "entrypoint.sh"))
        self.run("build", "--quiet", "--tag", tag, "--file", os.path.join(here, "Containerfile"), ctx, timeout=600)
        return tag

    def inspect(self, what):
        return json.loads(self.run("inspect", what).stdout)[0]

    def start(self, image, *args):
        """`podman run -d` with a fresh name; returns the name."""
        name = "trent-e2e-" + uuid.uuid4().hex[:8]
        self.made.append(("container", name))
        self.run("run", "-d", "--name", name, *args, image)
        return name

    def volume(self):
        name = "trent-e2e-" + uuid.uuid4().hex[:8]
        self.made.append(("volume", name))
        return name

    def wait_healthy(self, name, seconds=30):
        """Runs the image's health check (`trent health` inside) until it passes."""
        deadline = time.time() + seconds
        while True:
            p = self.run("healthcheck", "run", name, check=False)
            if p.returncode == 0:
                return
            state = self.inspect(name)["State"]
            assert state["Running"], "container exited: " + self.run("logs", name, check=False).stderr
            assert time.time() < deadline, "not healthy: " + self.run("logs", name, check=False).stderr
            time.sleep(0.3)

    def logs(self, name):
        p = self.run("logs", name, check=False)
        return p.stdout + p.stderr

    def cleanup(self):
        for kind, name in reversed(self.made):
            if kind == "container":
                self.run("rm", "-f", "-t", "2", name, check=False)
            else:
                self.run("volume", "rm", "-f", name, check=False)


@pytest.fixture
def podman(tmp_path):
    if not PODMAN:
        pytest.fail("podman is not installed (scripts/setup installs it)")
    p = Podman(str(tmp_path))
    yield p
    p.cleanup()
