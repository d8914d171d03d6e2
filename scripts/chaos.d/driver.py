#!/usr/bin/env python3
"""The fault-injection driver behind scripts/chaos (issue 12, "Proof").

Runs N OAuth flows against three kych-oauth2-gateway instances through a round-robin client, each flow with its own
credential (family_name = flow-<n>, given_name = its client id) from the test wallet, while it kill -9's and restarts
one gateway every few seconds, restarts PostgreSQL once, and its webhook proxy drops, duplicates and delays the
verifier's notifications. Every flow must end in a defined state; every verified flow yields exactly one code and one
token whose /info claims are that flow's, for that flow's client. Prints the counts; exit 1 when an invariant fails.
"""
import argparse
import asyncio
import collections
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse

import aiohttp
from aiohttp import web

# What the gateway may take to learn a presentation's outcome (from a webhook or by asking the verifier).
STATUS_DEADLINE = 180.0


class Invariant(Exception):
    """A broken guarantee: a duplicate code or token, claims to the wrong flow or client."""


class Unavailable(Exception):
    """No instance answered a request within its attempts."""


class Counts:
    def __init__(self):
        self.c = collections.Counter()
        self.failed = collections.Counter()
        self.violations = []
        self.server_errors = collections.Counter()

    def violation(self, text):
        self.violations.append(text)


class Gateways:
    """The three instances: started, kill -9'ed and restarted by the fault loop; picked round-robin by the client."""

    def __init__(self, args):
        self.bin = os.path.join(args.bin_dir, "kych-oauth2-gateway")
        self.configs = args.gateway_configs
        self.ports = args.gateway_ports
        self.work = args.work
        self.procs = [None] * len(self.ports)
        self.next = 0

    def start(self, i):
        log = open(os.path.join(self.work, f"gateway-{i}.log"), "ab")
        self.procs[i] = subprocess.Popen([self.bin, "-c", self.configs[i], "--log-level", "warning"], stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()

    def kill(self, i):
        proc = self.procs[i]
        if proc and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()

    def stop_all(self):
        for proc in self.procs:
            if proc and proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            if proc:
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()

    def url(self):
        """The next instance, round-robin."""
        port = self.ports[self.next % len(self.ports)]
        self.next += 1
        return f"http://127.0.0.1:{port}"

    async def wait_healthy(self, session, i, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                async with session.get(f"http://127.0.0.1:{self.ports[i]}/health") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if self.procs[i].poll() is not None:
                raise RuntimeError(f"gateway {i} exited with {self.procs[i].returncode}; see gateway-{i}.log")
            await asyncio.sleep(0.1)
        raise RuntimeError(f"gateway {i} did not become healthy")


class Driver:
    def __init__(self, args):
        self.args = args
        self.counts = Counts()
        self.gateways = Gateways(args)
        self.clients = []
        with open(args.clients) as f:
            for line in f:
                client_id, secret, redirect = line.rstrip("\n").split("\t")
                self.clients.append({"id": client_id, "secret": secret, "redirect": redirect})
        self.wallet_bin = os.path.join(args.bin_dir, "kych-wallet")
        self.wallet_slots = asyncio.Semaphore(args.wallets)
        self.flow_slots = asyncio.Semaphore(args.concurrency)
        self.running = True
        self.tag = os.urandom(3).hex()
        self.delivered = {}  # family_name -> (flow, client) that /info delivered it to
        self.latencies = []
        self.verification_of = {}  # flow -> its verification id
        self.step_of = {}  # flow -> the step it is at, for a flow that does not end
        self.outcome_of = {}  # flow -> how it ended
        self.in_flight = self.peak_in_flight = 0
        # Opened when every flow has started: the wallets present only then, so all flows are in flight at once.
        self.all_started = asyncio.Event()

    # MARK: requests

    async def call(self, method, path, *, what, budget=120.0, **kw):
        """One request to the next instance, retried on another after a connection error or a 5xx answer (the 5xx
        are counted: only 503 is a designed answer) for up to `budget` seconds, as a person reloading would.
        Returns (status, headers, text, attempts used)."""
        deadline = time.monotonic() + budget
        attempt = 0
        while True:
            attempt += 1
            url = self.gateways.url() + path
            try:
                async with self.http.request(method, url, allow_redirects=False, **kw) as r:
                    text = await r.text()
                    if r.status >= 500:
                        self.counts.server_errors[f"{what} {r.status}"] += 1
                    if r.status < 500 or time.monotonic() >= deadline:
                        return r.status, r.headers, text, attempt
            except (aiohttp.ClientError, asyncio.TimeoutError) as e:
                self.counts.c["connection_errors"] += 1
                if time.monotonic() >= deadline:
                    raise Unavailable(f"{what}: {type(e).__name__}") from e
            self.counts.c["retries"] += 1
            await asyncio.sleep(min(2.0, 0.1 * attempt) * random.uniform(0.5, 1.5))

    async def wallet(self, *argv):
        async with self.wallet_slots:
            proc = await asyncio.create_subprocess_exec(self.wallet_bin, *argv, stdout=asyncio.subprocess.PIPE,
                                                        stderr=asyncio.subprocess.PIPE)
            try:
                out, err = await asyncio.wait_for(proc.communicate(), 60)
            except asyncio.TimeoutError:
                proc.kill()
                await proc.wait()
                return -1, "", "kych-wallet gave no answer within 60 s"
            return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")

    @staticmethod
    def short(stderr):
        """The gist of a kych-wallet error: the verifier's HTTP status and error code, no ids."""
        text = stderr.strip().splitlines()[-1] if stderr.strip() else "no output"
        return text.replace("Error: ", "")[:90].split("/oid4vp/")[0]

    # MARK: one flow

    def family(self, n):
        """The flow's unique claim value: /info must deliver it to this flow and to no other."""
        return f"flow-{n}-{self.tag}"

    def wallet_dir(self, n):
        return os.path.join(self.args.work, "flows", str(n))

    async def issue(self, n):
        """Before the run: a wallet of the flow's own, holding one credential with the flow's claims."""
        wallet = self.wallet_dir(n)
        os.makedirs(os.path.join(wallet, "credentials"), exist_ok=True)
        for key in ("issuer-key.pem", "holder-key.pem"):
            shutil.copy(os.path.join(self.args.wallet, key), os.path.join(wallet, key))
        client = self.clients[n % len(self.clients)]
        rc, _, err = await self.wallet("issue", "--wallet", wallet, "--claim", f"family_name={self.family(n)}",
                                       "--claim", f"given_name={client['id']}")
        if rc != 0:
            shutil.rmtree(wallet, ignore_errors=True)
            print(f"flow {n}: kych-wallet issue failed: {err.strip()[:200]}", file=sys.stderr)

    async def flow(self, n):
        await asyncio.sleep(n * self.args.ramp / self.args.flows)
        async with self.flow_slots:
            if not self.running:
                self.counts.c["not_started"] += 1
                return
            self.counts.c["started"] += 1
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            started = time.monotonic()
            try:
                outcome = await asyncio.wait_for(self.run_flow(n), self.args.flow_deadline)
            except asyncio.TimeoutError:
                outcome = f"lost: no end state within {self.args.flow_deadline:.0f} s (stuck at {self.step_of.get(n)})"
            except Unavailable as e:
                outcome = f"lost: no instance answered ({e})"
            except Invariant as e:
                self.counts.violation(f"flow {n}: {e}")
                outcome = "violation"
            except Exception as e:  # a driver bug must not hide as a pass
                outcome = f"lost: driver error {type(e).__name__}: {e}"
            self.in_flight -= 1
            self.outcome_of[n] = outcome
            if outcome == "verified":
                self.counts.c["verified_token"] += 1
                self.latencies.append(time.monotonic() - started)
            elif outcome.startswith("lost"):
                self.counts.c["lost"] += 1
                self.counts.failed[outcome] += 1
                print(f"flow {n}: {outcome}", file=sys.stderr)
            elif outcome != "violation":
                self.counts.failed[outcome] += 1

    async def run_flow(self, n):
        client = self.clients[n % len(self.clients)]
        family = self.family(n)
        decline = random.random() < self.args.decline
        wallet = self.wallet_dir(n)
        if not os.path.isdir(wallet):
            return "lost: no credential was issued for this flow"

        # 1. /setup (bearer: the client's secret).
        self.step_of[n] = "setup"
        status, _, text, _ = await self.call("POST", f"/setup/{client['id']}", what="setup",
                                             headers={"Authorization": f"Bearer {client['secret']}"})
        if status != 200:
            return f"failed: setup answered {status}"
        nonce = json.loads(text)["nonce"]

        # 2. /authorize/{nonce} as JSON; the browser-binding cookie comes with the first answer only.
        self.step_of[n] = "authorize"
        state = f"state-{n}"
        query = urllib.parse.urlencode({"response_type": "code", "client_id": client["id"],
                                        "redirect_uri": client["redirect"], "state": state})
        status, headers, text, attempts = await self.call("GET", f"/authorize/{nonce}?{query}", what="authorize",
                                                          headers={"Accept": "application/json"})
        if status != 200:
            return f"failed: authorize answered {status}"
        body = json.loads(text)
        verification_id, deeplink = body["verification_id"], body["verification_deeplink"]
        self.verification_of[n] = verification_id
        cookie = None
        for value in headers.getall("Set-Cookie", []):
            name, _, rest = value.partition("=")
            if name.strip() == "kych_binding":
                cookie = rest.split(";", 1)[0]
        if body.get("state") != state:
            raise Invariant(f"/authorize answered state {body.get('state')!r}, not {state!r}")

        self.step_of[n] = "waiting for all flows to start"
        # 3. Once every flow is under way, the wallet presents (or declines) at the verifier; its webhook goes
        # through the proxy.
        await self.all_started.wait()
        self.step_of[n] = "present"
        argv = ["present", "--wallet", wallet, deeplink] + (["--decline"] if decline else [])
        rc, _, err = await self.wallet(*argv)
        if rc != 0:
            # The person tries once more, as a wallet's "try again" would.
            await asyncio.sleep(2.0)
            rc, _, again = await self.wallet(*argv)
            if rc != 0:
                shutil.rmtree(wallet, ignore_errors=True)
                return f"failed: kych-wallet present failed ({self.short(err)}), and again ({self.short(again)})"
            self.counts.c["presentations_retried"] += 1
        shutil.rmtree(wallet, ignore_errors=True)

        # 4. Long-poll /status until the flow leaves pending/authorized.
        self.step_of[n] = "status"
        final = None
        deadline = time.monotonic() + STATUS_DEADLINE
        while time.monotonic() < deadline:
            status, _, text, _ = await self.call("GET", f"/status/{verification_id}?state={state}&timeout_ms=10000",
                                                 what="status")
            if status != 200:
                return f"lost: status answered {status}"
            final = json.loads(text)["status"]
            if final not in ("pending", "authorized"):
                break
        if final in ("pending", "authorized"):
            return f"lost: status still {final} after the wallet presented"
        if final == "expired":
            return "expired"
        if decline and final != "failed":
            raise Invariant(f"a declined presentation ended {final}")
        if not decline and final != "verified":
            return f"failed: status {final} after a valid presentation"

        # 5. /finalize with the binding cookie: a code (or, declined, the client's error) in Location.
        self.step_of[n] = "finalize"
        finalize_headers = {"Cookie": f"kych_binding={cookie}"} if cookie else {}
        status, headers, text, attempts = await self.call("GET", f"/finalize/{verification_id}?state={state}",
                                                          what="finalize", headers=finalize_headers)
        if cookie is None and not decline:
            # The answer that set the cookie was lost to a kill: another browser, as far as KyCH can tell.
            if status == 403:
                return "failed: binding cookie lost with a killed /authorize answer (403 at /finalize)"
            if status == 302 and "code=" in headers.get("Location", ""):
                raise Invariant("/finalize issued a code without the binding cookie")
            return f"failed: finalize without cookie answered {status}"
        if status == 409 and attempts > 1:
            return "failed: code issued but the /finalize answer was lost to a kill (409 on retry)"
        if status != 302:
            return f"failed: finalize answered {status}"
        location = urllib.parse.urlsplit(headers["Location"])
        if not headers["Location"].startswith(client["redirect"] + "?"):
            raise Invariant(f"/finalize redirected to another client's URI {location.scheme}://{location.netloc}{location.path}")
        params = dict(urllib.parse.parse_qsl(location.query))
        if params.get("state") != state:
            raise Invariant("/finalize redirect carries another state")
        if decline:
            if "code" in params or params.get("error") != "access_denied":
                raise Invariant(f"a declined flow was redirected with {sorted(params)}")
            return "declined (failed, access_denied)"
        code = params.get("code")
        if not code:
            return f"failed: finalize redirected with error {params.get('error')}"

        # No second code: /finalize again from this browser, while the code is unused, repeats the same redirect.
        status, headers, _, _ = await self.call("GET", f"/finalize/{verification_id}?state={state}", what="finalize",
                                                headers=finalize_headers)
        if status == 302 and dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(headers["Location"]).query)).get("code") != code:
            self.counts.c["duplicate_codes"] += 1
            raise Invariant("a second /finalize issued a second code")
        if status not in (302, 409):
            return f"failed: the repeated /finalize answered {status}"

        # 6. /token (client_secret_post).
        self.step_of[n] = "token"
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": client["redirect"],
                "client_id": client["id"], "client_secret": client["secret"]}
        status, _, text, attempts = await self.call("POST", "/token", what="token", data=form)
        if status == 400 and attempts > 1:
            return "failed: token issued but the /token answer was lost to a kill (invalid_grant on retry)"
        if status != 200:
            return f"failed: token answered {status} {text[:80]}"
        token = json.loads(text)["access_token"]

        # 7. /info: this flow's claims, for this flow's client.
        self.step_of[n] = "info"
        status, _, text, attempts = await self.call("GET", "/info", what="info", headers={"Authorization": f"Bearer {token}"})
        if status == 401 and attempts > 1:
            # Claims are delivered once (CLAIMS_RETENTION_MINUTES = 0): the first answer erased them, then was lost.
            return "failed: claims delivered but the /info answer was lost to a kill (invalid_token on retry)"
        if status != 200:
            return f"failed: info answered {status}"
        claims = json.loads(text).get("claims", {})
        if claims.get("family_name") != family:
            self.counts.c["wrong_claims"] += 1
            raise Invariant(f"/info delivered another flow's claims ({claims.get('family_name')!r})")
        if claims.get("given_name") != client["id"]:
            self.counts.c["wrong_client"] += 1
            raise Invariant(f"/info delivered claims issued for {claims.get('given_name')!r} to {client['id']}")
        if family in self.delivered:
            self.counts.c["claims_delivered_twice"] += 1
            raise Invariant("these claims were delivered twice")
        self.delivered[family] = client["id"]
        # The token belongs to this client alone: introspection by this client says so, by another says inactive.
        other = self.clients[(n + 1) % len(self.clients)]
        for who, expect in ((client, True), (other, False)):
            status, _, text, _ = await self.call("POST", "/introspect", what="introspect",
                                                 data={"token": token, "client_id": who["id"],
                                                       "client_secret": who["secret"]})
            answer = json.loads(text) if status == 200 else {}
            if status != 200 or answer.get("active") is not expect or (expect and answer.get("client_id") != client["id"]):
                self.counts.c["wrong_client"] += 1
                raise Invariant(f"introspection by {who['id']} answered {status} {answer}")

        # No second token: the code again is invalid_grant, and the replay revokes the token (RFC 6749 §4.1.2).
        status, _, text, _ = await self.call("POST", "/token", what="token", data=form)
        if status == 200:
            self.counts.c["duplicate_tokens"] += 1
            raise Invariant("a replayed code yielded a second token")
        if status != 400 or json.loads(text).get("error") != "invalid_grant":
            raise Invariant(f"a replayed code answered {status} {text[:80]}")
        status, _, _, _ = await self.call("GET", "/info", what="info", headers={"Authorization": f"Bearer {token}"})
        if status != 401:
            self.counts.c["replay_not_revoked"] += 1
        # A redeemed code is never handed out again.
        status, headers, _, _ = await self.call("GET", f"/finalize/{verification_id}?state={state}", what="finalize",
                                                headers=finalize_headers)
        if status == 302 and "code=" in headers.get("Location", ""):
            self.counts.c["duplicate_codes"] += 1
            raise Invariant("/finalize handed out a redeemed code again")
        return "verified"

    # MARK: the webhook proxy

    async def webhook(self, request):
        """The verifier's POST /notification: dropped, duplicated, delayed (reordered) or passed to a random instance."""
        body = await request.read()
        self.counts.c["webhooks_received"] += 1
        if self.counts.c["postgres_restarts"]:
            self.counts.c["webhooks_after_pg_restart"] += 1
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("content-type", "x-api-key")}
        roll = random.random()
        if roll < 0.2:
            self.counts.c["webhooks_dropped"] += 1
            return web.Response(status=204)
        if roll < 0.5:
            # Answered at once, sent later: after newer ones (reordered), or to an instance killed meanwhile.
            self.counts.c["webhooks_delayed"] += 1
            asyncio.get_running_loop().create_task(self.forward(body, headers, delay=random.uniform(0.2, 3.0)))
            return web.Response(status=204)
        copies = 2 if roll < 0.7 else 1
        if copies == 2:
            self.counts.c["webhooks_duplicated"] += 1
        statuses = await asyncio.gather(*(self.forward(body, headers) for _ in range(copies)))
        best = min(statuses)
        return web.Response(status=best if best < 600 else 502)

    async def forward(self, body, headers, delay=0.0):
        if delay:
            await asyncio.sleep(delay)
        port = random.choice(self.gateways.ports)
        self.counts.c["webhooks_forwarded"] += 1
        try:
            async with self.http.post(f"http://127.0.0.1:{port}/notification", data=body, headers=headers) as r:
                await r.read()
                if r.status >= 500:
                    self.counts.server_errors[f"notification {r.status}"] += 1
                return r.status
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return 600

    # MARK: faults

    async def faults(self):
        victim = 0
        while self.running:
            await asyncio.sleep(self.args.kill_every)
            if not self.running:
                break
            victim = (victim + random.randint(1, 2)) % len(self.gateways.ports)
            self.gateways.kill(victim)
            self.counts.c["kills"] += 1
            await asyncio.sleep(1.0)
            await self.restart(victim)

    async def restart(self, i):
        """Starts instance i again as systemd would (Restart=always): a start refused, e.g. while PostgreSQL
        restarts, is retried a second later."""
        for _ in range(30):
            self.gateways.start(i)
            try:
                await self.gateways.wait_healthy(self.http, i)
                return
            except RuntimeError:
                self.counts.c["starts_refused"] += 1
                await asyncio.sleep(1.0)
        self.counts.violation(f"gateway {i} did not start again within 30 attempts (see gateway-{i}.log)")

    async def restart_postgres(self):
        """Once, mid-run: when 40 % of the flows have ended (a fast restart: every connection is cut)."""
        while len(self.outcome_of) < 0.4 * self.args.flows:
            await asyncio.sleep(0.2)
        print("==> restarting PostgreSQL", file=sys.stderr)
        proc = await asyncio.create_subprocess_shell(self.args.pg_restart, stdout=asyncio.subprocess.DEVNULL,
                                                     stderr=asyncio.subprocess.PIPE)
        _, err = await proc.communicate()
        if proc.returncode != 0:
            self.counts.violation(f"PostgreSQL restart failed: {err.decode(errors='replace')[:200]}")
        else:
            self.counts.c["postgres_restarts"] += 1

    # MARK: the run

    async def progress(self, t0):
        while self.running:
            await asyncio.sleep(10)
            c = self.counts.c
            print(f"  {time.monotonic() - t0:6.0f} s: started {c['started']}, verified {c['verified_token']}, "
                  f"failed {sum(self.counts.failed.values()) - c['lost']}, lost {c['lost']}, kills {c['kills']}",
                  file=sys.stderr)
            if 0 < self.in_flight <= 5 and self.all_started.is_set():
                waiting = {n: step for n, step in self.step_of.items() if n not in self.outcome_of}
                print(f"          still in flight: {waiting}", file=sys.stderr)

    async def run(self):
        # No total timeout: waiting for one of the pool's connections is the client's queue, not the server's fault.
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=45)
        connector = aiohttp.TCPConnector(limit=256)
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as self.http:
            proxy = web.Application()
            proxy.router.add_post("/notification", self.webhook)
            runner = web.AppRunner(proxy, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.args.proxy_port).start()
            for i in range(len(self.gateways.ports)):
                self.gateways.start(i)
            for i in range(len(self.gateways.ports)):
                await self.gateways.wait_healthy(self.http, i)

            t = time.monotonic()
            await asyncio.gather(*(self.issue(n) for n in range(self.args.flows)))
            print(f"==> {self.args.flows} credentials issued in {time.monotonic() - t:.0f} s; flows start", file=sys.stderr)
            t0 = time.monotonic()
            background = [asyncio.create_task(self.faults()), asyncio.create_task(self.progress(t0))]
            pg_restart = asyncio.create_task(self.restart_postgres())

            async def stop_starting():
                await asyncio.sleep(self.args.seconds)
                self.running = False
                self.all_started.set()

            stopper = asyncio.create_task(stop_starting())

            flows = [asyncio.create_task(self.flow(n)) for n in range(self.args.flows)]

            async def open_gate():
                await asyncio.sleep(self.args.ramp)
                while self.running and self.counts.c["started"] + self.counts.c["not_started"] < self.args.flows:
                    await asyncio.sleep(0.2)
                while self.running and any(f not in self.verification_of and f not in self.outcome_of
                                           for f in range(self.args.flows)):
                    await asyncio.sleep(0.2)
                print(f"==> {self.peak_in_flight} flows in flight; the wallets present", file=sys.stderr)
                self.all_started.set()

            if self.args.concurrency < self.args.flows:
                self.all_started.set()  # flows wait for a slot: no moment when all are in flight
            gate = asyncio.create_task(open_gate())
            await asyncio.gather(*flows)
            gate.cancel()
            wall = time.monotonic() - t0
            await pg_restart  # never cut short: the database check must not meet a half-restarted server
            self.running = False
            stopper.cancel()
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await asyncio.sleep(3.5)  # delayed webhooks still in the air
            # Every instance up for the end: restarted ones must serve what the others started.
            for i, proc in enumerate(self.gateways.procs):
                if proc.poll() is not None:
                    await self.restart(i)
            await runner.cleanup()
        self.gateways.stop_all()
        return wall

    def database_check(self):
        """Every session in a defined state, at most one code and one token per session, claims where they belong."""
        sql = """
            SELECT json_build_object(
              'by_status', (SELECT json_object_agg(status, n) FROM
                              (SELECT status, count(*) AS n FROM oauth2gw.verification_sessions GROUP BY status) s),
              'sessions_with_two_codes', (SELECT count(*) FROM (SELECT session_serial FROM oauth2gw.authorization_codes
                                          GROUP BY session_serial HAVING count(*) > 1) x),
              'sessions_with_two_tokens', (SELECT count(*) FROM (SELECT session_serial FROM oauth2gw.access_tokens
                                          GROUP BY session_serial HAVING count(*) > 1) x),
              'completed_without_code', (SELECT count(*) FROM oauth2gw.verification_sessions s WHERE status = 'completed'
                                         AND NOT EXISTS (SELECT 1 FROM oauth2gw.authorization_codes c
                                                         WHERE c.session_serial = s.session_serial)),
              'code_without_completed', (SELECT count(*) FROM oauth2gw.authorization_codes c JOIN
                                         oauth2gw.verification_sessions s USING (session_serial) WHERE s.status <> 'completed'),
              'claims_of_other_client', (SELECT count(*) FROM oauth2gw.verification_sessions s JOIN oauth2gw.clients c
                                         USING (client_serial) WHERE s.claims IS NOT NULL AND s.claims_erased_at IS NULL
                                         AND s.claims->>'given_name' IS DISTINCT FROM c.client_id),
              'verified_same_claims_twice', (SELECT count(*) FROM (SELECT claims->>'family_name' FROM
                                             oauth2gw.verification_sessions WHERE claims IS NOT NULL
                                             AND claims_erased_at IS NULL GROUP BY 1 HAVING count(*) > 1) x),
              'waiting_past_expiry', (SELECT count(*) FROM oauth2gw.verification_sessions
                                      WHERE status IN ('pending', 'authorized') AND expires_at < now()),
              'verifications_in_progress', (SELECT count(*) FROM verifier.verifications WHERE status = 'in_progress'),
              'webhooks_undelivered', (SELECT count(*) FROM verifier.webhook_events))
        """
        out = subprocess.run(["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True,
                             text=True)
        if out.returncode != 0:
            self.counts.violation(f"database check failed: {out.stderr.strip()[:300]}")
            return {}
        return json.loads(out.stdout.strip() or "{}")

    # The session state (status, codes, tokens) each way of ending leaves in the database.
    EXPECTED_ROWS = {
        "verified": ("completed", 1, 1),
        "declined": ("failed", 0, 0),
        "failed: binding cookie lost": ("verified", 0, 0),
        "failed: code issued but the /finalize answer was lost": ("completed", 1, 0),
        "failed: token issued but the /token answer was lost": ("completed", 1, 1),
        "failed: claims delivered but the /info answer was lost": ("completed", 1, 1),
    }

    def flows_in_database(self):
        """Compares each flow's end, as the client saw it, with its session row: mismatches are violations."""
        sql = """SELECT json_object_agg(s.verification_id, json_build_array(s.status,
                   (SELECT count(*) FROM oauth2gw.authorization_codes c WHERE c.session_serial = s.session_serial),
                   (SELECT count(*) FROM oauth2gw.access_tokens t WHERE t.session_serial = s.session_serial)))
                 FROM oauth2gw.verification_sessions s WHERE s.verification_id IS NOT NULL"""
        out = subprocess.run(["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True)
        if out.returncode != 0:
            self.counts.violation(f"database check failed: {out.stderr.strip()[:300]}")
            return
        rows = json.loads(out.stdout.strip() or "null") or {}
        for n, outcome in self.outcome_of.items():
            expected = next((rows_ for prefix, rows_ in self.EXPECTED_ROWS.items() if outcome.startswith(prefix)), None)
            vid = self.verification_of.get(n)
            if expected is None or vid is None:
                continue
            self.counts.c["flows_checked_in_database"] += 1
            found = tuple(rows.get(vid, ("missing", 0, 0)))
            if found != expected:
                self.counts.violation(f"flow {n} ended '{outcome}' but its session is {found}, not {expected}")

    def report(self, wall, db):
        c, failed = self.counts.c, self.counts.failed
        lines = [
            "==> KyCH fault-injection run",
            f"flows requested           {self.args.flows} (concurrency {self.args.concurrency}, wallets at once "
            f"{self.args.wallets}, {len(self.clients)} clients, 3 gateway instances)",
            f"flows started             {c['started']}" + (f" ({c['not_started']} not started: --seconds)" if c['not_started'] else ""),
            f"flows in flight at once   {self.peak_in_flight} (all started over {self.args.ramp:.0f} s, then the wallets present)",
            f"verified + code + token   {c['verified_token']}",
        ]
        for reason, n in sorted(failed.items(), key=lambda kv: -kv[1]):
            lines.append(f"  ended: {reason:<70} {n}")
        lines += [
            f"lost (no defined end)     {c['lost']}",
            f"duplicate codes           {c['duplicate_codes']}",
            f"duplicate tokens          {c['duplicate_tokens']}",
            f"claims delivered twice    {c['claims_delivered_twice']}",
            f"wrong-claims deliveries   {c['wrong_claims']}",
            f"wrong-client deliveries   {c['wrong_client']}",
            f"replayed code kept token  {c['replay_not_revoked']}",
            f"flows matched to database {c['flows_checked_in_database']} (status, codes, tokens as the client saw them)",
            f"gateway kills (kill -9)   {c['kills']}",
            f"PostgreSQL restarts       {c['postgres_restarts']}",
            f"gateway starts refused    {c['starts_refused']} (then started again a second later)",
            f"webhooks dropped          {c['webhooks_dropped']}",
            f"webhooks duplicated       {c['webhooks_duplicated']}",
            f"webhooks delayed          {c['webhooks_delayed']}",
            f"webhooks received         {c['webhooks_received']} ({c['webhooks_after_pg_restart']} after the PostgreSQL restart)",
            f"webhooks forwarded        {c['webhooks_forwarded']}",
            f"presentations retried     {c['presentations_retried']} (the wallet's first try failed, the second passed)",
            f"client retries            {c['retries']} ({c['connection_errors']} connection errors)",
            f"5xx answers               {dict(self.counts.server_errors) or 0}",
            f"wall time                 {wall:.1f} s",
            f"flows/s                   {c['started'] / wall:.1f}",
        ]
        if self.latencies:
            lat = sorted(self.latencies)
            lines.append(f"verified flow time        p50 {lat[len(lat) // 2]:.1f} s, p99 {lat[int(len(lat) * 0.99)]:.1f} s")
        lines.append(f"database                  {json.dumps(db, sort_keys=True)}")
        for v in self.counts.violations[:20]:
            lines.append(f"VIOLATION {v}")
        print("\n".join(lines))

    def passed(self, db):
        c = self.counts.c
        bad = [self.counts.violations, c["lost"], c["duplicate_codes"], c["duplicate_tokens"], c["wrong_claims"],
               c["wrong_client"], c["claims_delivered_twice"], c["kills"] == 0, c["postgres_restarts"] != 1,
               c["verified_token"] == 0]
        bad += [db.get(k, 1) for k in ("sessions_with_two_codes", "sessions_with_two_tokens", "completed_without_code",
                                       "code_without_completed", "claims_of_other_client", "verified_same_claims_twice",
                                       "waiting_past_expiry")]
        return not any(bad)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--flows", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=0, help="flows in flight at once (default: all of them)")
    p.add_argument("--seconds", type=float, default=1200, help="stop starting flows after this many seconds")
    p.add_argument("--ramp", type=float, default=0, help="seconds over which the flows start (default: one per 40 ms)")
    p.add_argument("--flow-deadline", type=float, default=0,
                   help="seconds a flow may take before it counts as lost (default: 300 + 0.4 s per flow)")
    p.add_argument("--kill-every", type=float, default=4.0, help="seconds between gateway kills")
    p.add_argument("--wallets", type=int, default=4, help="kych-wallet processes at once")
    p.add_argument("--decline", type=float, default=0.05, help="share of flows whose wallet declines")
    p.add_argument("--bin-dir", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--clients", required=True)
    p.add_argument("--gateway-configs", nargs=3, required=True)
    p.add_argument("--gateway-ports", nargs=3, type=int, required=True)
    p.add_argument("--proxy-port", type=int, required=True)
    p.add_argument("--wallet", required=True)
    p.add_argument("--pg-restart", required=True, help="shell command restarting PostgreSQL")
    args = p.parse_args()
    args.concurrency = args.concurrency or args.flows
    args.ramp = args.ramp or args.flows * 0.04
    args.flow_deadline = args.flow_deadline or 300 + 0.4 * args.flows
    driver = Driver(args)
    # The run stops by itself: every flow has its deadline, and the whole run one more.
    limit = args.seconds + args.flow_deadline + 300
    try:
        wall = asyncio.run(asyncio.wait_for(driver.run(), limit))
    except asyncio.TimeoutError:
        driver.counts.violation(f"the run did not end within {limit:.0f} s")
        wall = limit
    finally:
        driver.gateways.stop_all()
    db = driver.database_check()
    driver.flows_in_database()
    driver.report(wall, db)
    ok = driver.passed(db)
    print("chaos: PASS" if ok else "chaos: FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
