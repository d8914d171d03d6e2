#!/usr/bin/env python3
"""Drives KyCH's verification page in headless Debian Chromium (selenium), as a person would.

Opens the authorize URL, checks that the QR code and the claims list are shown, switches the page to German with
its language link, then writes a JSON report to READY_FILE and waits for the page to take the browser to the
client's redirect URI, which a small HTTP server on CALLBACK_PORT answers. With --offer the page must first show the
KyCH attestation offer (its QR code and "Add to my wallet" link) and stay there until "Continue to the service" is
clicked. Prints {"final_url": ...} (and "offer_link", "offer_title") on success;
exits non-zero with a message otherwise. With --screenshots it also saves the verification page 360 and 1280 px
wide in English and German, and at the end the "complete" page and an error page.
Test tooling only: run by Tests/KychTests/PageBrowserTests.swift.
"""
import argparse
import http.server
import json
import os
import signal
import sys
import threading
import time
import urllib.parse

CHROMIUM = os.environ.get("KYCH_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("KYCH_CHROMEDRIVER", "/usr/bin/chromedriver")

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    sys.exit("selenium is not installed for " + sys.executable + ": run scripts/test, or python3 -m pip install selenium")


class Callback(http.server.BaseHTTPRequestHandler):
    """The client's redirect URI: answers every GET with a short page."""

    def do_GET(self):
        body = b"<!DOCTYPE html><title>client</title><p>callback received</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def browser(extra_arguments=()):
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            sys.exit(path + " is missing: install Debian's chromium and chromium-driver (scripts/test does)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,900", "--lang=en-US", "--hide-scrollbars", *extra_arguments):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en"})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def screenshot(driver, directory, name, width):
    """A full-page screenshot `width` CSS pixels wide, as a phone (mobile viewport) or desktop browser shows it."""
    metrics = {"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": width < 600}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    metrics["height"] = max(driver.execute_script("return document.documentElement.scrollHeight"), 600)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    driver.save_screenshot(os.path.join(directory, name))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def shown(driver, language):
    """Waits for the page in `language` with its QR code and claims; returns the claim labels."""
    WebDriverWait(driver, 30).until(
        lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == language
        and d.find_elements(By.CSS_SELECTOR, "figure.qr svg") and d.find_elements(By.CSS_SELECTOR, "#claims li"))
    qr = driver.find_element(By.CSS_SELECTOR, "figure.qr svg")
    if not qr.is_displayed() or qr.size["width"] < 150:
        raise AssertionError("the QR code is not visible: %r" % qr.size)
    if not driver.find_element(By.ID, "open-wallet").is_displayed():
        raise AssertionError("the wallet button is not visible")
    return [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#claims li")]


def offered(driver, timeout, callback):
    """Waits for the attestation offer the page reveals after the verification; checks that it stays (no redirect to the
    client while offering) and that the wallet's QR code is gone, and returns the offer's link and title."""
    WebDriverWait(driver, timeout).until(
        lambda d: d.current_url.startswith(callback) or d.find_element(By.ID, "attestation-offer").is_displayed())
    if driver.current_url.startswith(callback):
        raise AssertionError("the page went on to the client instead of offering the attestation")
    qr = driver.find_element(By.CSS_SELECTOR, "#attestation-offer figure.qr svg")
    if not qr.is_displayed() or qr.size["width"] < 150:
        raise AssertionError("the offer's QR code is not visible: %r" % qr.size)
    if driver.find_element(By.ID, "verification").is_displayed():
        raise AssertionError("the wallet's QR code is still shown beside the offer")
    offer_url = driver.current_url
    time.sleep(2)
    if driver.current_url != offer_url:
        raise AssertionError("the offer page moved on by itself to " + driver.current_url)
    if not driver.find_element(By.ID, "continue-to-service").is_displayed():
        raise AssertionError("the continue link is not visible")
    return {"offer_link": driver.find_element(By.ID, "add-to-wallet").get_attribute("href"),
            "offer_title": driver.find_element(By.CSS_SELECTOR, "#attestation-offer h2").text}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--callback-port", type=int, required=True)
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--screenshots", help="directory for verification-page-{en,de}-{360,1280}.png and two more")
    parser.add_argument("--timeout", type=float, default=90)
    parser.add_argument("--offer", action="store_true", help="expect the attestation offer after the verification")
    args = parser.parse_args()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.callback_port), Callback)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    if args.screenshots:
        os.makedirs(args.screenshots, exist_ok=True)
    driver = browser()
    try:
        driver.get(args.url)
        report = {"claims_en": shown(driver, "en"), "status_en": driver.find_element(By.ID, "status").text}
        if args.screenshots:
            for width in (360, 1280):
                screenshot(driver, args.screenshots, "verification-page-en-%d.png" % width, width)
        driver.find_element(By.CSS_SELECTOR, "nav.langs a[hreflang=de]").click()
        report["claims_de"] = shown(driver, "de")
        report["status_de"] = driver.find_element(By.ID, "status").text
        report["csp_violations"] = [entry["message"] for entry in driver.get_log("browser")
                                    if "Content Security Policy" in entry["message"]]
        if args.screenshots:
            for width in (360, 1280):
                screenshot(driver, args.screenshots, "verification-page-de-%d.png" % width, width)
        with open(args.ready_file + ".tmp", "w") as f:
            json.dump(report, f)
        os.rename(args.ready_file + ".tmp", args.ready_file)

        callback = "http://127.0.0.1:%d/" % args.callback_port
        result = {}
        if args.offer:
            result = offered(driver, args.timeout, callback)
            if args.screenshots:
                screenshot(driver, args.screenshots, "attestation-offer-de-360.png", 360)
            driver.find_element(By.ID, "continue-to-service").click()
        try:
            WebDriverWait(driver, args.timeout).until(lambda d: d.current_url.startswith(callback))
        except Exception:
            status = driver.find_elements(By.ID, "status")
            sys.exit("the browser did not reach the redirect URI; it is at %s, status line %r" % (
                driver.current_url, status[0].text if status else None))
        result["final_url"] = driver.current_url
        print(json.dumps(result))
        if args.screenshots:
            base = urllib.parse.urlsplit(args.url)
            for name, path in (("complete-page-de-360.png", "/?lang=de"),
                               ("error-page-de-360.png", "/finalize/unknown-verification?lang=de")):
                driver.get(urllib.parse.urlunsplit((base.scheme, base.netloc, "", "", "")) + path)
                screenshot(driver, args.screenshots, name, 360)
    finally:
        driver.quit()
        server.shutdown()


if __name__ == "__main__":
    main()
