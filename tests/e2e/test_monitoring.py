"""Monitoring as an operator sets it up: a real Prometheus server scrapes `trent serve
--metrics-listen`, loads docs/alerts/trent.rules.yml, and answers queries for the expiry
gauge (present for a key whose imported material expires, absent for one whose material does
not) and the guide's 30-day alarm; expiry warnings reach a webhook and the audit trail."""
import datetime
import http.server
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import pytest

from conftest import ROOT, TRENT, free_port, import_material

PROMETHEUS = shutil.which("prometheus")
required = pytest.mark.skipif(not PROMETHEUS and not os.environ.get("TRENT_E2E_ALL"),
                              reason="Prometheus is installed by scripts/setup (which makes this test required)")


def expiring_and_lasting_keys(kms):
    """One EXTERNAL key whose material expires in 10 days, one whose material does not."""
    expiring = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    valid_to = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=10)
    import_material(kms, expiring, os.urandom(32), ValidTo=valid_to, ExpirationModel="KEY_MATERIAL_EXPIRES")
    lasting = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    import_material(kms, lasting, os.urandom(32), ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")
    return expiring, lasting


def query(prom, promql):
    url = f"{prom}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    return body["data"]["result"]


def wait_for(what, check, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            found = check()
        except OSError:  # Prometheus still starting
            found = None
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@required
def test_prometheus_scrapes_the_expiry_gauge_and_evaluates_the_guides_alarm(make_server, tmp_path):
    metrics_port = free_port()
    server = make_server(extra=("--wrapping-pool-size", "0", "--metrics-listen", f"127.0.0.1:{metrics_port}")).start()
    expiring, lasting = expiring_and_lasting_keys(server.client())
    prom_port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(f"""
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {os.path.join(ROOT, "docs", "alerts", "trent.rules.yml")}
scrape_configs:
  - job_name: trent
    static_configs:
      - targets: ["127.0.0.1:{metrics_port}"]
""")
    log = open(tmp_path / "prometheus.log", "wb")
    prom = subprocess.Popen([PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{prom_port}"], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{prom_port}"
    try:
        series = wait_for("the expiry gauge in Prometheus",
                          lambda: query(base, "trent_seconds_until_key_material_expiration"))
        by_key = {s["metric"]["key_id"]: float(s["value"][1]) for s in series}
        assert set(by_key) == {expiring}, f"only the expiring key has the gauge: {series}"
        assert abs(by_key[expiring] - 10 * 86400) < 300
        labels = series[0]["metric"]
        assert (labels["account"], labels["region"], labels["job"]) == ("111122223333", "us-east-1", "trent")
        # The guide's alarm (less than 30 days) is pending, then firing after its minute.
        alerts = wait_for("the 30-day alarm", lambda: query(base, 'ALERTS{alertname="TrentKeyMaterialExpiresIn30Days"}'))
        assert alerts[0]["metric"]["key_id"] == expiring
        assert query(base, f'trent_seconds_until_key_material_expiration{{key_id="{lasting}"}}') == []
        # Calls are counted by operation and error code.
        ok = query(base, 'trent_requests_total{operation="ImportKeyMaterial",error_code=""}')
        assert float(ok[0]["value"][1]) == 2
        assert query(base, "up{job=\"trent\"}")[0]["value"][1] == "1"
    finally:
        prom.terminate()
        prom.wait(timeout=20)
        log.close()


class Hook(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_an_expiry_warning_reaches_the_webhook_and_the_audit_trail(make_server):
    server = make_server().start()
    expiring, _ = expiring_and_lasting_keys(server.client())
    assert server.stop() == 0
    hook = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    try:
        # The first background pass runs at start-up: the 10-day material is within 30 days.
        url = f"http://127.0.0.1:{hook.server_port}/notices"
        server.extra += ["--expiry-warning-days", "30", "--notify-webhook", url]
        server.start()
        event = wait_for("the warning at the webhook", lambda: Hook.received, timeout=30)[0]
        assert event["detail-type"] == "KMS Imported Key Material Expiration Warning"
        assert event["source"] == "aws.kms" and event["detail"]["key-id"] == expiring
        assert event["resources"] == [f"arn:aws:kms:us-east-1:111122223333:key/{expiring}"]
        assert event["detail"]["lead-time-seconds"] == 30 * 86400
        assert server.stop() == 0
        notices = [r for r in server.audit_events() if r.get("detail-type")]
        assert [n["id"] for n in notices] == [event["id"]], "the notice is in the trail, once"
        verified = subprocess.run([TRENT, "audit", "verify", "--data-dir", server.data_dir],
                                  capture_output=True, text=True)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        # Restarted again, the warning is not sent twice (it is claimed in the store).
        server.start()
        time.sleep(2)
        assert len(Hook.received) == 1
    finally:
        hook.shutdown()
