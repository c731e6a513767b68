#!/usr/bin/env python3
"""Startup time and idle memory of Rounds against an empty Tauri v2 app, in the same run.

Both release binaries are started alternately under a fresh Xvfb and D-Bus session:
  mapped     exec -> window mapped (xdotool)
  painted    exec -> the page reports two animation frames after its first screen is in the DOM
  PSS        after IDLE seconds, summed over the app and its WebKit web + network processes
Usage: bench/footprint.py [runs] (after `cargo build --release -p rounds -p empty-tauri-app`).
Machines here are noisy: read the ratios, not the absolute figures.
"""
import os, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
APPS = [("empty Tauri app", "empty-tauri-app", "Empty"), ("Rounds", "rounds", "Rounds")]
IDLE = float(os.environ.get("IDLE", "10"))


def descendants(root):
    kids = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            kids.setdefault(ppid, []).append(int(pid))
        except (OSError, IndexError, ValueError):
            pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def run_once(binary, title, display):
    home = tempfile.mkdtemp(prefix="rounds-fp-")
    run = os.path.join(home, "run")
    os.makedirs(run, mode=0o700)
    env = dict(os.environ, DISPLAY=display, HOME=home, XDG_RUNTIME_DIR=run,
               ROUNDS_REPORT_STARTUP="1", WEBKIT_DISABLE_COMPOSITING_MODE="1")
    env.pop("ROUNDS_POLICY_FILE", None)
    t0 = time.time()
    app = subprocess.Popen(["dbus-run-session", "--", binary], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    subprocess.run(["xdotool", "search", "--sync", "--onlyvisible", "--name", f"^{title}$"],
                   env=env, stdout=subprocess.DEVNULL, timeout=30)
    mapped = (time.time() - t0) * 1000
    painted = None
    for line in app.stdout:
        if line.startswith("READY "):
            painted = int(line.split()[1]) - t0 * 1000
            break
    time.sleep(IDLE)
    procs = {}
    for p in descendants(app.pid):
        c = comm(p)
        if c.startswith(("WebKitWebProces", "WebKitNetworkPr")) or c == os.path.basename(binary)[:15]:
            procs[c] = procs.get(c, 0) + pss_kb(p)
    os.killpg(app.pid, 15)
    app.wait(timeout=10)
    shutil.rmtree(home, ignore_errors=True)
    return mapped, painted, sum(procs.values()) / 1024, {k: round(v / 1024) for k, v in procs.items()}


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    results = {name: [] for name, _, _ in APPS}
    for i in range(runs):
        for name, binfile, title in APPS:
            n = 90 + i
            xvfb = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while not os.path.exists(f"/tmp/.X11-unix/X{n}"):
                time.sleep(0.05)
            try:
                r = run_once(os.path.join(TARGET, "release", binfile), title, f":{n}")
            finally:
                xvfb.terminate()
                xvfb.wait()
            results[name].append(r)
            print(f"run {i + 1} {name:16} mapped {r[0]:6.0f} ms  painted {r[1]:6.0f} ms  PSS {r[2]:6.1f} MB {r[3]}")
    med = {name: tuple(statistics.median(x[k] for x in rs) for k in range(3)) for name, rs in results.items()}
    base, ours = med["empty Tauri app"], med["Rounds"]
    print(f"\nmedian of {runs}        mapped      painted     PSS")
    for name, m in med.items():
        print(f"{name:20} {m[0]:7.0f} ms {m[1]:7.0f} ms {m[2]:7.1f} MB")
    print(f"{'Rounds / empty':20} {ours[0] / base[0]:7.2f} x  {ours[1] / base[1]:7.2f} x  {ours[2] - base[2]:+7.1f} MB")
    for binfile in ("empty-tauri-app", "rounds"):
        print(f"binary {binfile}: {os.path.getsize(os.path.join(TARGET, 'release', binfile)) / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
