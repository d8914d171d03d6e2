#!/usr/bin/env python3
"""The `polls` mode of scripts/bench: CPU a gateway spends on open /status long polls.

Runs a stand-in verifier on loopback (every verification stays PENDING), starts N verifications through
/setup and /authorize, holds one long poll open on each (re-polled when answered), and prints the gateway
process's CPU time over the measured window. Loopback only; bounded in count and time.

  bench_polls.py --gateway-url URL --gateway-pid PID [--polls 800] [--seconds 10] [--database NAME] [--pending N]
      --pending N: first N more sessions through /setup only (pending, no verification), then the gateway's RSS
      is printed with them and the polls open (the memory target of issue 13)
  bench_polls.py --serve-verifier PORT      # only the stand-in verifier (the gateway's VERIFIER_URL)
"""
import argparse, asyncio, concurrent.futures, json, os, subprocess, threading, time, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StandInVerifier(BaseHTTPRequestHandler):
    counter = 0
    lock = threading.Lock()

    def reply(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with StandInVerifier.lock:
            StandInVerifier.counter += 1
            vid = "bench-%d" % StandInVerifier.counter
        self.reply({"id": vid, "request_nonce": "n", "state": "PENDING",
                    "verification_url": "http://127.0.0.1/request-object/" + vid})

    def do_GET(self):
        self.reply({"id": self.path.rsplit("/", 1)[-1], "state": "PENDING"})

    def log_message(self, *args):
        pass


def serve_verifier(port):
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", port), StandInVerifier).serve_forever()


def setup(base):
    request = urllib.request.Request(base + "/setup/bench", data=b"", method="POST",
                                     headers={"Authorization": "Bearer secret-token:bench-secret-0123456789abcdef0123"})
    return json.load(urllib.request.urlopen(request, timeout=30))["nonce"]


def start_verification(base):
    nonce = setup(base)
    authorize = urllib.request.Request(
        base + "/authorize/" + nonce + "?response_type=code&client_id=bench&redirect_uri=https%3A%2F%2Fclient.example%2Fcb&state=s",
        headers={"Accept": "application/json"})
    return json.load(urllib.request.urlopen(authorize, timeout=30))["verification_id"]


async def hold_poll(host, port, vid, stop, answered):
    reader, writer = await asyncio.open_connection(host, port)
    request = ("GET /status/%s?state=s&timeout_ms=30000 HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n\r\n"
               % (vid, host)).encode()
    while not stop.is_set():
        writer.write(request)
        await writer.drain()
        headers = await reader.readuntil(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in headers.split(b"\r\n") if line.lower().startswith(b"content-length"))
        await reader.readexactly(length)
        answered[0] += 1
    writer.close()


def transactions(database):
    """PostgreSQL's committed transactions in `database` (psql reaches the server through PGHOST/PGPORT), or 0."""
    if not database:
        return 0
    return int(subprocess.run(["psql", "-Atc", "SELECT xact_commit FROM pg_stat_database WHERE datname = '%s'" % database],
                              check=True, capture_output=True, text=True).stdout)


def rss_mb(pid):
    status = dict(line.split(":", 1) for line in open("/proc/%d/status" % pid))
    return int(status["VmRSS"].split()[0]) // 1024, int(status["VmHWM"].split()[0]) // 1024


def cpu_seconds(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(args):
    host, port = args.gateway_url.split("//")[1].split(":")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        if args.pending:
            list(pool.map(setup, [args.gateway_url] * args.pending))
        ids = list(pool.map(start_verification, [args.gateway_url] * args.polls))
    stop, answered = asyncio.Event(), [0]
    polls = [asyncio.create_task(hold_poll(host, int(port), vid, stop, answered)) for vid in ids]
    await asyncio.sleep(3)   # every poll open and settled
    if args.pending:
        rss, peak = rss_mb(args.gateway_pid)
        print("%d pending sessions (/setup only) and %d sessions waiting with a /status long poll open each: gateway RSS %d MB"
              " (peak %d MB)" % (args.pending, args.polls, rss, peak))
    answered[0] = 0
    before, queries, started = cpu_seconds(args.gateway_pid), transactions(args.database), time.monotonic()
    await asyncio.sleep(args.seconds)
    used, elapsed = cpu_seconds(args.gateway_pid) - before, time.monotonic() - started
    queries = transactions(args.database) - queries
    print("%d open polls for %.0f s: gateway CPU %.2f s = %.1f%% of one core; %d polls answered in the window%s"
          % (args.polls, elapsed, used, 100 * used / elapsed, answered[0],
             "; %.0f database transactions/s" % (queries / elapsed) if args.database else ""))
    stop.set()
    for task in polls:
        task.cancel()
    await asyncio.gather(*polls, return_exceptions=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve-verifier", type=int)
    parser.add_argument("--gateway-url")
    parser.add_argument("--gateway-pid", type=int)
    parser.add_argument("--polls", type=int, default=800)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--database", help="a PostgreSQL database whose transactions to count")
    parser.add_argument("--pending", type=int, default=0, help="sessions to create through /setup only, first")
    args = parser.parse_args()
    if args.serve_verifier:
        serve_verifier(args.serve_verifier)
    else:
        asyncio.run(measure(args))
