"""Ratios to ClientWebSocket inside each run, from runN/lifecycle.json: python3 summary.py > summary.md"""
import json, re, sys, pathlib

here = pathlib.Path(__file__).parent
runs = sorted(p for p in here.glob("run*") if p.is_dir())
loads = {}
for line in (here / "runs.log").read_text().splitlines():
    m = re.match(r"\S+ (run\d+) start, load (\S+)", line)
    if m:
        loads[m.group(1)] = m.group(2)
order = ["raw socket floor", "Sidecar own loop", "Sidecar shared loop"]
rows = {}  # peer -> list of (run, {contender: (wall, median)})
for run in runs:
    data = json.loads((run / "lifecycle.json").read_text())
    for peer in dict.fromkeys(r["Peer"] for r in data):
        by = {r["Contender"]: r for r in data if r["Peer"] == peer}
        cws = by["ClientWebSocket"]
        cws_cycle = cws["Connect"]["P50"] + cws["Close"]["P50"]
        ratios = {}
        for c in order:
            r = by[c]
            ratios[c] = (r["CyclesPerSecond"] / cws["CyclesPerSecond"],
                         cws_cycle / (r["Connect"]["P50"] + r["Close"]["P50"]),
                         r["Connect"]["P50"], r["Close"]["P50"])
        rows.setdefault(peer, []).append((run.name, cws, ratios))

print("Ratios to ClientWebSocket inside each run (higher is better). median cycle = CWS (connect p50 + close p50) / contender's;")
print("wall = contender's cycles per second / CWS's. Connect and close p50 in µs.\n")
for peer, items in rows.items():
    print(f"### {peer}\n")
    print("| run | load at start (1 min) | CWS connect p50 | CWS close p50 | CWS cycles/s | floor median cycle | floor wall | own loop median cycle | own loop wall | shared loop median cycle | shared loop wall | floor connect p50 | floor close p50 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, cws, r in items:
        f, o, s = (r[c] for c in order)
        print(f"| {name} | {loads.get(name, '?')} | {cws['Connect']['P50']:.0f} | {cws['Close']['P50']:.0f} | {cws['CyclesPerSecond']:,.0f} | "
              f"{f[1]:.2f} | {f[0]:.2f} | {o[1]:.2f} | {o[0]:.2f} | {s[1]:.2f} | {s[0]:.2f} | {f[2]:.0f} | {f[3]:.0f} |")
    print()
    print("| contender | median cycle, range | wall, range |")
    print("| --- | --- | --- |")
    for c in order:
        med = [r[c][1] for _, _, r in items]
        wall = [r[c][0] for _, _, r in items]
        print(f"| {c} | {min(med):.2f}–{max(med):.2f} | {min(wall):.2f}–{max(wall):.2f} |")
    print()
