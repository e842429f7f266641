"""The console in a real headless Chromium (Debian's chromium and chromium-driver, driven by
Selenium): sign in (a wrong secret shows AWS's error text), create EXTERNAL keys, run the
import wizard with in-browser wrapping for RSAES_OAEP_SHA_256 and RSA_AES_KEY_WRAP_SHA_256,
see the keys Enabled with their expiry, encrypt with boto3, delete the material in the console
and see boto3's Encrypt refused; the plaintext material is in no request the page sent.
The screenshots of docs/console.md are test_console_pages.py's (scripts/console-screenshots)."""
import base64
import datetime
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request

import botocore.exceptions
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import ROOT, TRENT, free_port

SHOTS = os.path.join(ROOT, "docs", "console")


@pytest.fixture
def downloads(tmp_path):
    d = tmp_path / "downloads"
    d.mkdir()
    return d


@pytest.fixture
def browser(downloads):
    options = webdriver.ChromeOptions()
    # A throwaway profile: the development CA of the TLS test is not worth installing.
    options.add_argument("--ignore-certificate-errors")
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    options.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    # The requests the page sends, bodies included (Network.requestWillBeSent).
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=shutil.which("chromedriver")))
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def wait(driver, condition, timeout=30):
    return WebDriverWait(driver, timeout).until(condition)


def visible(driver, css):
    return wait(driver, EC.visibility_of_element_located((By.CSS_SELECTOR, css)))


def text_is(driver, css, text):
    wait(driver, EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))


def shot(driver, name, tmp_path):
    """A capture to look at when a test fails (docs/console's are test_console_pages.py's)."""
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(os.path.join(str(tmp_path), name))


def sign_in(driver, akid, secret):
    visible(driver, "#akid").clear()
    driver.find_element(By.ID, "akid").send_keys(akid)
    driver.find_element(By.ID, "secret").send_keys(secret)
    driver.find_element(By.ID, "sign-in").click()


def create_external_key(driver, alias):
    visible(driver, "#create-key").click()
    visible(driver, "#origin-external").click()
    driver.find_element(By.ID, "alias").send_keys(alias)
    driver.find_element(By.ID, "create").click()
    return visible(driver, "#get-parameters")


def run_wizard(driver, algorithm, material_path, valid_to=None, tmp_path=None, name=None):
    Select(driver.find_element(By.ID, "wrapping-algorithm")).select_by_value(algorithm)
    Select(driver.find_element(By.ID, "wrapping-key-spec")).select_by_value("RSA_2048")
    driver.find_element(By.ID, "get-parameters").click()
    visible(driver, "#material-file").send_keys(str(material_path))
    if valid_to:
        driver.find_element(By.ID, "expires").click()
        field = driver.find_element(By.ID, "valid-to")
        driver.execute_script("arguments[0].value = arguments[1]", field, valid_to.isoformat())
    if name:
        shot(driver, name, tmp_path)
    driver.find_element(By.ID, "import").click()
    text_is(driver, "#state", "Enabled")


def sent_bodies(driver):
    bodies = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            request = message["params"]["request"]
            if request.get("method") == "POST":
                bodies.append((request.get("headers", {}), request.get("postData", "")))
    return bodies


def test_the_import_ceremony_in_the_console(server, browser, tmp_path):
    kms = server.client()
    akid, secret = server.credentials()
    browser.get(server.endpoint + "/")
    assert browser.current_url == server.endpoint + "/console/", "a browser is sent to the console"
    shot(browser, "sign-in.png", tmp_path)
    # What a person reads: the title, then the form — no stray "null" where an absent
    # warning would have been (issue 34).
    visible(browser, "#sign-in-form")
    text = browser.find_element(By.ID, "app").text
    assert "null" not in text and text.startswith("Sign in"), text

    # A wrong secret: the page shows what AWS's error says, as boto3 gets it.
    sign_in(browser, akid, "not-the-secret")
    wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#sign-in-form .error").text)
    shown = browser.find_element(By.CSS_SELECTOR, "#sign-in-form .error").text
    with pytest.raises(botocore.exceptions.ClientError) as e:
        server.client(secret="not-the-secret").list_keys(Limit=1)
    error = e.value.response["Error"]
    assert shown == f"{error['Code']}: {error['Message']}"
    sign_in(browser, akid, secret)
    visible(browser, "#keys-empty")  # a new account: the empty list says what to do

    # RSAES_OAEP_SHA_256, wrapped in the browser, expiring in 20 days.
    oaep_material = os.urandom(32)
    (tmp_path / "oaep.bin").write_bytes(oaep_material)
    create_external_key(browser, "console-oaep")
    key_oaep = browser.current_url.rsplit("/", 1)[1]
    valid_to = datetime.date.today() + datetime.timedelta(days=20)
    run_wizard(browser, "RSAES_OAEP_SHA_256", tmp_path / "oaep.bin", valid_to, tmp_path, "import-wizard.png")
    meta = kms.describe_key(KeyId=key_oaep)["KeyMetadata"]
    assert meta["KeyState"] == "Enabled" and meta["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert meta["ValidTo"].date() == valid_to
    assert "soon" in browser.find_element(By.CSS_SELECTOR, "[data-field='Expiration date'] .expiry").get_attribute("class")

    # RSA_AES_KEY_WRAP_SHA_256 (RFC 5649 in the page), never expiring.
    kwp_material = os.urandom(32)
    (tmp_path / "kwp.bin").write_bytes(kwp_material)
    browser.get(server.endpoint + "/console/#/keys")
    create_external_key(browser, "console-kwp")
    key_kwp = browser.current_url.rsplit("/", 1)[1]
    run_wizard(browser, "RSA_AES_KEY_WRAP_SHA_256", tmp_path / "kwp.bin")
    assert kms.describe_key(KeyId=key_kwp)["KeyMetadata"]["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"
    for key in (key_oaep, key_kwp):
        blob = kms.encrypt(KeyId=key, Plaintext=b"from boto3")["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"from boto3"
    shot(browser, "key.png", tmp_path)
    # The key's audit trail (LookupEvents, signed for CloudTrail in the page) has the import.
    # (A reload would sign out: the secret lives in the page's memory only. A new fragment
    # renders the page again.)
    browser.get(server.endpoint + "/console/#/keys")
    visible(browser, "#keys-table")
    browser.get(server.endpoint + f"/console/#/key/{key_kwp}")
    events = visible(browser, "#audit").text
    assert "ImportKeyMaterial" in events and "GetParametersForImport" in events and "Encrypt" in events

    # The guide's openssl path: download the wrapping key, wrap outside, upload the result.
    downloads = tmp_path / "downloads"
    browser.get(server.endpoint + "/console/#/keys")
    create_external_key(browser, "console-openssl")
    key_openssl = browser.current_url.rsplit("/", 1)[1]
    Select(browser.find_element(By.ID, "wrapping-algorithm")).select_by_value("RSAES_OAEP_SHA_1")
    Select(browser.find_element(By.ID, "wrapping-key-spec")).select_by_value("RSA_2048")
    browser.find_element(By.ID, "get-parameters").click()
    visible(browser, "a[download='WrappingPublicKey.bin']").click()
    public = downloads / "WrappingPublicKey.bin"
    deadline = time.time() + 20
    while not public.exists() and time.time() < deadline:
        time.sleep(0.1)
    (tmp_path / "openssl.bin").write_bytes(os.urandom(32))
    subprocess.run(["openssl", "pkeyutl", "-encrypt", "-in", str(tmp_path / "openssl.bin"),
                    "-out", str(tmp_path / "EncryptedKeyMaterial.bin"), "-inkey", str(public), "-keyform", "DER",
                    "-pubin", "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha1"], check=True)
    browser.find_element(By.ID, "mode-wrapped").click()
    browser.find_element(By.ID, "wrapped-file").send_keys(str(tmp_path / "EncryptedKeyMaterial.bin"))
    browser.find_element(By.ID, "import").click()
    text_is(browser, "#state", "Enabled")
    assert kms.describe_key(KeyId=key_openssl)["KeyMetadata"]["KeyState"] == "Enabled"

    # The key list: all EXTERNAL, the 20-day expiry highlighted.
    browser.get(server.endpoint + "/console/#/keys")
    row = visible(browser, f"tr[data-key-id='{key_oaep}']")
    assert row.find_element(By.CSS_SELECTOR, ".origin").text == "EXTERNAL"
    assert "soon" in row.find_element(By.CSS_SELECTOR, ".expiry").get_attribute("class")
    shot(browser, "keys.png", tmp_path)

    # Delete the material in the console (after the guide's warning): boto3 is refused.
    browser.get(server.endpoint + f"/console/#/key/{key_oaep}")
    visible(browser, "[data-delete-material]").click()
    alert = wait(browser, EC.alert_is_present())
    assert "cannot be decrypted" in alert.text
    alert.accept()
    text_is(browser, "#state", "PendingImport")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        kms.encrypt(KeyId=key_oaep, Plaintext=b"x")
    assert (e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]) == (
        "KMSInvalidStateException", f"{meta['Arn']} is pending import.")

    # What the page sent: signed KMS calls to this origin, and never the plaintext material.
    bodies = sent_bodies(browser)
    targets = [h.get("X-Amz-Target") or h.get("x-amz-target") for h, _ in bodies]
    assert targets.count("TrentService.ImportKeyMaterial") == 3, targets
    for material in (oaep_material, kwp_material):
        for form in (base64.b64encode(material).decode(), material.hex(), material.hex().upper()):
            assert all(form not in body for _, body in bodies), "plaintext material was sent"
    assert all(
        (h.get("Authorization") or h.get("authorization", "")).startswith("AWS4-HMAC-SHA256 ") for h, _ in bodies
    )
    assert all(secret not in json.dumps(h) + body for h, body in bodies), "the secret was sent"


def test_the_console_is_served_with_a_strict_policy(server):
    with urllib.request.urlopen(server.endpoint + "/console/") as r:
        headers = r.headers
        page = r.read().decode()
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "connect-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert '<script type="module" src="app.js"></script>' in page


def test_over_tls_and_not_in_an_insecure_context(browser, tmp_path):
    """WebCrypto needs a secure context: HTTPS works (the development certificate, whose CA
    this throwaway browser is told to ignore), plain HTTP on a network address is refused by
    the browser and the page says why."""
    from test_tls import TlsServer
    tls = TlsServer(tmp_path, "--tls-self-signed", name="tls")
    try:
        akid, secret = tls.creds()
        browser.get(tls.endpoint + "/console/")
        sign_in(browser, akid, secret)
        visible(browser, "#keys-empty")
    finally:
        tls.stop()
    # A network address in plain HTTP (this host's own, not loopback).
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the route
            address = probe.getsockname()[0]
    except OSError:
        address = None
    if address and address.startswith("127."):
        address = None
    if address is None:
        pytest.skip("this host has no network address")
    port = free_port()
    with open(tmp_path / "plain.log", "ab") as log:
        proc = subprocess.Popen([TRENT, "serve", "--data-dir", str(tmp_path / "plain"), "--listen", f"{address}:{port}",
                                 "--wrapping-pool-size", "0", "--allow-plaintext"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://{address}:{port}/health", timeout=1):
                    break
            except OSError:
                assert proc.poll() is None and time.time() < deadline
                time.sleep(0.05)
        browser.get(f"http://{address}:{port}/console/")
        assert "not a secure context" in visible(browser, ".warning").text
    finally:
        proc.terminate()
        proc.wait(timeout=20)
