#!/usr/bin/env python3
"""Clicks through the KyCH demo in headless Debian Chromium (selenium), as a newcomer would.

Opens the demo client site at SITE_URL, clicks "Verify my identity", checks that the KyCH verification page is shown
(QR code and the "Use the demo wallet" link), clicks that link, and waits until the browser is back on the site's
callback page with the verified claims. Prints a JSON report {"kych_url", "final_url", "claims", "csp_violations"};
exits non-zero with a message otherwise. Test tooling only: run by Tests/KychTests/DemoTests.swift.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verification_page import browser, By, WebDriverWait  # noqa: E402  (one browser set-up for every browser test)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("site_url")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    site = args.site_url.rstrip("/")
    driver = browser()
    try:
        driver.get(site + "/")
        driver.find_element(By.ID, "verify").click()
        wait = WebDriverWait(driver, args.timeout)
        try:
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "figure.qr svg") and d.find_elements(By.ID, "demo-wallet"))
        except Exception:
            sys.exit("the KyCH page with the demo wallet link was not shown; the browser is at " + driver.current_url)
        kych_url = driver.current_url
        driver.find_element(By.ID, "demo-wallet").click()
        try:
            wait.until(lambda d: d.current_url.startswith(site + "/callback") and d.find_elements(By.CSS_SELECTOR, "#claims dt"))
        except Exception:
            result = driver.find_elements(By.ID, "result")
            sys.exit("the demo site did not show the claims; the browser is at %s (%r)" % (
                driver.current_url, result[0].text if result else driver.title))
        names = [dt.text for dt in driver.find_elements(By.CSS_SELECTOR, "#claims dt")]
        values = [dd.text for dd in driver.find_elements(By.CSS_SELECTOR, "#claims dd")]
        print(json.dumps({
            "kych_url": kych_url,
            "final_url": driver.current_url,
            "claims": dict(zip(names, values)),
            "csp_violations": [entry["message"] for entry in driver.get_log("browser")
                               if "Content Security Policy" in entry["message"]],
        }))
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
