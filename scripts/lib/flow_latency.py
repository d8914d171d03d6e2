"""One flow at a time, end to end, against a running gateway with its embedded verifier: /setup, /authorize (JSON),
a /status long poll opened as the page does, the wallet's presentation (kych-wallet present, a process of its own),
/finalize, /token and /info. Prints, per phase, the median and the 90th percentile over the flows, in ms.
`result` is the time from the wallet's answer to the long poll's `verified`: what the gateway adds after the verifier
accepted the presentation (the webhook, the status change)."""
import argparse, http.client, json, statistics, subprocess, threading, time, urllib.parse


def request(port, method, path, headers=None, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, response, data


def flow(args, timings):
    state = "bench-state"
    t0 = time.perf_counter()
    status, _, data = request(args.port, "POST", f"/setup/{args.client}", {"Authorization": f"Bearer {args.secret}"}, b"")
    assert status == 200, (status, data)
    nonce = json.loads(data)["nonce"]
    query = urllib.parse.urlencode({"response_type": "code", "client_id": args.client, "redirect_uri": args.redirect,
                                    "state": state})
    status, response, data = request(args.port, "GET", f"/authorize/{nonce}?{query}", {"Accept": "application/json"})
    assert status == 200, (status, data)
    started = json.loads(data)
    cookie = response.getheader("Set-Cookie").split(";")[0]
    vid = started["verification_id"]
    t_authorized = time.perf_counter()

    polled = {}
    def poll():
        status, _, data = request(args.port, "GET", f"/status/{vid}?state={state}&timeout_ms=30000")
        polled["at"] = time.perf_counter()
        polled["status"] = json.loads(data).get("status")
    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.05)  # the page's long poll is open before the person scans the code
    t_wallet = time.perf_counter()
    subprocess.run([args.wallet_bin, "present", "--wallet", args.wallet, started["verification_deeplink"]], check=True,
                   stdout=subprocess.DEVNULL)
    t_presented = time.perf_counter()
    poller.join()
    assert polled["status"] == "verified", polled
    t_verified = max(polled["at"], t_presented)

    status, response, _ = request(args.port, "GET", f"/finalize/{vid}?state={state}", {"Cookie": cookie})
    assert status == 302, status
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(response.getheader("Location")).query))["code"]
    form = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code, "redirect_uri": args.redirect,
                                   "client_id": args.client, "client_secret": args.secret}).encode()
    status, _, data = request(args.port, "POST", "/token", {"Content-Type": "application/x-www-form-urlencoded"}, form)
    assert status == 200, (status, data)
    token = json.loads(data)["access_token"]
    status, _, data = request(args.port, "GET", "/info", {"Authorization": f"Bearer {token}"})
    assert status == 200 and json.loads(data)["claims"], (status, data)
    t_end = time.perf_counter()
    for name, value in [("setup+authorize", t_authorized - t0), ("wallet process", t_presented - t_wallet),
                        ("result (wallet answered -> verified)", polled["at"] - t_presented),
                        ("finalize+token+info", t_end - t_verified),
                        ("flow without the wallet process", (t_end - t0) - (t_presented - t_wallet) - 0.05),
                        ("flow, wall time", t_end - t0)]:
        timings.setdefault(name, []).append(value * 1000)


def main():
    parser = argparse.ArgumentParser()
    for name in ["port", "flows"]:
        parser.add_argument("--" + name, type=int, required=True)
    for name in ["client", "secret", "redirect", "wallet", "wallet-bin"]:
        parser.add_argument("--" + name, required=True)
    args = parser.parse_args()
    timings = {}
    flow(args, {})  # warm-up
    for _ in range(args.flows):
        flow(args, timings)
    for name, values in timings.items():
        values.sort()
        p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
        print(f"  {name:40s} median {statistics.median(values):8.1f} ms   p90 {p90:8.1f} ms")


main()
