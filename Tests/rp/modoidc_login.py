#!/usr/bin/env python3
"""Logs a person in at an Apache protected by mod_auth_openidc, through KyCH and the test wallet, in headless Chromium.

Opens RP_URL/protected/, which mod_auth_openidc redirects to KyCH's verification page (behind TLS with a self-signed
certificate, hence --ignore-certificate-errors); reads the page's wallet deeplink and runs `kych-wallet present`
with it, as the person's phone would; the page's own script then goes on to /finalize and back to Apache, which
redeems the code, validates the ID token and shows the protected page. Prints a JSON report {"kych_url",
"authorization_request", "final_url", "claims"} (claims: the page's name/value list); exits non-zero with a
message otherwise. Test tooling only: run by Tests/KychTests/ModAuthOpenIDCTests.swift.
"""
import argparse
import json
import os
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "browser"))
from verification_page import browser, By, WebDriverWait  # noqa: E402  (one browser set-up for every browser test)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("rp_url")
    parser.add_argument("--kych-url", required=True, help="KyCH's BASE_URL, where the verification page must be")
    parser.add_argument("--wallet-bin", required=True)
    parser.add_argument("--wallet", required=True)
    parser.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()
    rp = args.rp_url.rstrip("/")
    kych = args.kych_url.rstrip("/")
    driver = browser(["--ignore-certificate-errors"])
    wait = WebDriverWait(driver, args.timeout)
    try:
        driver.get(rp + "/protected/")
        try:
            wait.until(lambda d: d.current_url.startswith(kych + "/authorize")
                       and d.find_elements(By.CSS_SELECTOR, "figure.qr svg") and d.find_elements(By.ID, "open-wallet"))
        except Exception:
            sys.exit("the KyCH verification page was not shown; the browser is at %s (%r): %s" % (
                driver.current_url, driver.title, driver.find_element(By.TAG_NAME, "body").text[:500]))
        kych_url = driver.current_url
        # The DOM's href is the attribute's value with the HTML entities already decoded.
        deeplink = driver.find_element(By.ID, "open-wallet").get_attribute("href")
        present = subprocess.run([args.wallet_bin, "present", "--wallet", args.wallet, deeplink],
                                 capture_output=True, text=True, timeout=60)
        if present.returncode != 0 or "Presented." not in present.stdout:
            sys.exit("kych-wallet present exited %d: %s %s" % (present.returncode, present.stdout, present.stderr))
        try:
            # Done when the protected page shows, or when mod_auth_openidc shows its error page (title "Error").
            wait.until(lambda d: d.current_url.startswith(rp + "/protected/")
                       and (d.find_elements(By.CSS_SELECTOR, "#claims dt") or d.title == "Error"))
            if not driver.find_elements(By.CSS_SELECTOR, "#claims dt"):
                raise RuntimeError("mod_auth_openidc's error page")
        except Exception:
            sys.exit("the protected page was not shown; the browser is at %s (%r): %s" % (
                driver.current_url, driver.title, driver.find_element(By.TAG_NAME, "body").text[:500]))
        names = [dt.text for dt in driver.find_elements(By.CSS_SELECTOR, "#claims dt")]
        values = [dd.text for dd in driver.find_elements(By.CSS_SELECTOR, "#claims dd")]
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(kych_url).query)
        print(json.dumps({
            "kych_url": kych_url.split("?")[0],
            # What mod_auth_openidc asked for: parameter names, and the values that are not one-time secrets.
            "authorization_request": {name: (values[0] if name in ("response_type", "scope", "client_id", "redirect_uri",
                                                                    "code_challenge_method") else "…")
                                      for name, values in query.items()},
            "final_url": driver.current_url.split("?")[0],
            "claims": dict(zip(names, values)),
        }))
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
