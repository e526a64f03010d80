"""Records the browser traces: each scenario in each browser, headless, in a network namespace of its
own, the page's JSON saved under tests/browser/traces/ with the browser's version. Needs root."""
import argparse
import concurrent.futures
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import browsers  # noqa: E402
import netns  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PORT = 8000

# scenario -> the page's own bound (ms; kept in step with page/scenarios.js) + margin for start-up.
SCENARIOS = {
    "datachannel": 20, "bundled": 25, "unbundled": 30, "remote-close": 45, "local-close": 20,
    "dtls-failure": 30, "ice-failure": 55, "no-remote-candidate": 20, "loss-8s": 45,
    "loss-40s": 80, "ice-restart": 30, "end-of-candidates": 20,
}
LOSS = ("loss-8s", "loss-40s")
START_MARGIN = 40  # s: browser start-up and posting, on a loaded machine

_lock = threading.Lock()
_counter = [0]


def _say(msg: str) -> None:
    with _lock:
        print(msg, flush=True)


def _kill(proc: Optional[subprocess.Popen], grace: float = 3.0) -> None:
    """Ends the process group this recorder started for proc: TERM, then KILL."""
    if proc is None or proc.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


def record_one(browser: str, scenario: str, run: int, out_dir: str, version: str) -> Tuple[str, str]:
    """Records one scenario once; returns (file name, outcome)."""
    with _lock:
        _counter[0] += 1
        ns = f"pcsb{os.getpid()}x{_counter[0]}"
    name = f"{browser}-{scenario}" + (f"-{run}" if scenario in LOSS else "") + ".json"
    work = tempfile.mkdtemp(prefix=f"pcsb-{browser}-{scenario}-")
    out = os.path.join(work, "result.json")
    bound = SCENARIOS[scenario] + START_MARGIN
    server = browser_proc = None
    log = open(os.path.join(work, "browser.log"), "w")
    started = time.monotonic()
    try:
        netns.create(ns)
        server = subprocess.Popen(
            netns.exec_in(ns, [sys.executable, os.path.join(HERE, "server.py"), "--port", str(PORT),
                               "--out", out, "--timeout", str(bound)]),
            stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True)
        assert server.stdout is not None
        if server.stdout.readline().strip() != "ready":
            return name, "server did not start"
        profile = os.path.join(work, "profile")
        os.mkdir(profile)
        url = f"http://127.0.0.1:{PORT}/index.html?scenario={scenario}"
        argv, env = browsers.command(browser, profile, url)
        browser_proc = subprocess.Popen(netns.exec_in(ns, argv), env=env, stdout=log, stderr=log,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            server.wait(bound + 5)
        except subprocess.TimeoutExpired:
            pass
        drops = netns.guard_drops(ns)
        if not os.path.exists(out):
            return name, f"no result within {bound} s (see {work}/browser.log)"
        with open(out) as f:
            page = json.load(f)
        trace = {
            "format": 1,
            "browser": browser,
            "browser_version": version,
            "user_agent": page.get("userAgent"),
            "scenario": scenario,
            "run": run,
            "recorded": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "seconds": round(time.monotonic() - started, 1),
            "recorder": {
                "namespace": {"address": netns.ADDRESS, "loss_rule": "inet input: meta l4proto udp drop"},
                "outside_packets_dropped": drops[0],
                "outside_destinations": drops[1],
                "chromium_flags" if browser == "chromium" else "firefox_prefs":
                    browsers.CHROMIUM_FLAGS if browser == "chromium" else sorted(browsers.FIREFOX_PREFS),
            },
            "outcome": page.get("outcome"),
            "error": page.get("error"),
            "features": page.get("features"),
            "final": page.get("final"),
            "log": page.get("log"),
        }
        with open(os.path.join(out_dir, name), "w") as f:
            json.dump(trace, f, indent=None, separators=(",", ":"))
            f.write("\n")
        shutil.rmtree(work, ignore_errors=True)
        return name, f"{page.get('outcome')} ({len(trace['log'] or [])} entries, {trace['seconds']} s)"
    finally:
        _kill(browser_proc)
        _kill(server)
        log.close()
        netns.delete(ns)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--browsers", default="chromium,firefox")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--loss-runs", type=int, default=3, help="recordings of each loss scenario")
    ap.add_argument("--jobs", type=int, default=6, help="recordings at once")
    ap.add_argument("--out", default=os.path.join(HERE, "traces"))
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("record.py: needs root (network namespaces)")
    os.makedirs(args.out, exist_ok=True)
    wanted = [b for b in args.browsers.split(",") if b]
    versions = {b: browsers.version(b) for b in wanted}
    for b, v in versions.items():
        _say(f"record: {b}: {v}")
    jobs: List[Tuple[str, str, int]] = []
    for s in args.scenarios.split(","):
        if s not in SCENARIOS:
            sys.exit(f"record.py: unknown scenario {s}")
        for b in wanted:
            for run in range(1, (args.loss_runs if s in LOSS else 1) + 1):
                jobs.append((b, s, run))
    jobs.sort(key=lambda j: -SCENARIOS[j[1]])  # longest first
    t0 = time.monotonic()
    failed = 0
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futs = {pool.submit(record_one, b, s, r, args.out, versions[b]): (b, s, r) for b, s, r in jobs}
        for fut in concurrent.futures.as_completed(futs):
            b, s, r = futs[fut]
            try:
                name, outcome = fut.result()
            except Exception as e:  # noqa: BLE001 - reported, counted
                name, outcome = f"{b}-{s}-{r}", f"error: {e}"
            ok = outcome.startswith("done")
            failed += not ok
            _say(f"record: {name}: {outcome}")
    try:
        os.rmdir("/etc/netns")  # only when empty: no other namespace uses it
    except OSError:
        pass
    _say(f"record: {len(jobs)} recordings in {time.monotonic() - t0:.0f} s, {failed} not done")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
