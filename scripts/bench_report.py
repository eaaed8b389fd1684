#!/usr/bin/env python3
"""The bookkeeping of scripts/bench: results as JSON lines, the Markdown report with every
figure's ratio to the ceilings measured in the same run, and the smoke check.

  bench_report.py record RESULTS SECTION BACKEND KEY CONN WRK_OUTPUT [NAME=VALUE ...]
  bench_report.py record-json RESULTS SECTION BACKEND KEY CONN JSON [NAME=VALUE ...]
  bench_report.py note RESULTS SECTION BACKEND KEY NAME=VALUE ...
  bench_report.py get RESULTS SECTION BACKEND KEY CONN FIELD     # prints the value or 0
  bench_report.py served WRK_OUTPUT                              # successful answers per second
  bench_report.py render RESULTS HEADER                          # Markdown on stdout
  bench_report.py splice DOC REPORT                              # between the markers
  bench_report.py check RESULTS                                  # smoke: every run served
  bench_report.py ids DATABASE_URL ORG NEEDED OUT                # registered submissions' ids

Every wrk script ends with a `done()` that prints one line `BENCH {json}` (requests,
duration, errors, latency percentiles in microseconds); `record` keeps it with its labels.
"""

import json
import re
import sqlite3
import subprocess
import sys

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

# What each scenario is, in the order of the report, and which ceilings it compares with:
# "write" → the group-commit writer and the backend's raw insert rates, "read" → the
# trivial endpoint.
SCENARIOS = [
    ("submit", "`POST /api/v1/submissions` (citizen, JSON with a 68-byte PNG in base64)", "write"),
    ("open311", "`POST /open311/v2/requests.json` (citizen's key, form-encoded)", "write"),
    ("take", "`POST /api/v1/submissions/{id}/take-into-work` (official, a different submission each)", "write"),
    ("ballot", "`POST /api/v1/polls/{id}/ballots` (a different verified voter each)", "write"),
    ("my", "`GET /my` (personal account page, session cookie)", "read"),
    ("inbox", "`GET /inbox` (official's inbox page)", "read"),
    ("search", "`GET /api/v1/search?q=маршрут автобуса` (citizen)", "read"),
]
BACKENDS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def append(path, row):
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")


def extras(pairs):
    out = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            out[name] = json.loads(value)
        except ValueError:
            out[name] = value
    return out


def parse_wrk(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    for line in text.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[len("BENCH "):])
    sys.stderr.write(f"no BENCH line in {path}:\n{text}\n")
    return {"requests": 0, "duration_us": 1, "status": 0, "connect": 0, "read": 0,
            "write": 0, "timeout": 0, "p50_us": 0, "p99_us": 0, "max_us": 0, "failed": True}


def rate(row):
    """Rows per second, or successful (not 4xx/5xx) answers per second."""
    if "rows_per_s" in row:
        return row["rows_per_s"]
    served = row.get("requests", 0) - row.get("status", 0)
    return served / max(row.get("duration_us", 1), 1) * 1e6


def ms(us):
    if not us:
        return "—"
    if us >= 1e6:
        return f"{us / 1e6:.2f} s"
    if us >= 1e4:
        return f"{us / 1e3:.0f} ms"
    if us >= 1e3:
        return f"{us / 1e3:.1f} ms"
    return f"{us / 1e3:.2f} ms"


def num(x):
    return f"{x:,.0f}".replace(",", " ")


def ratio(a, b):
    if not b:
        return "—"
    r = a / b
    if r >= 10:
        return f"{r:.0f}"
    if r >= 0.01:
        return f"{r:.2g}"
    return f"{r:.3f}" if r >= 0.001 else "<0.001"


def errors_cell(row):
    cell = num(row.get("status", 0))
    sockets = {k: row.get(k, 0) for k in ("connect", "read", "write", "timeout")}
    more = ", ".join(f"{v} {k}" for k, v in sockets.items() if v)
    return f"{cell} ({more})" if more else cell


def progress(row):
    what = f"{row['backend']:8} {row['key']:22} c={row['conn']:<5}"
    if "rows_per_s" in row:
        sys.stderr.write(f"  {what} {num(row['rows_per_s'])} rows/s\n")
    else:
        sys.stderr.write(
            f"  {what} {num(rate(row))} req/s  p50 {ms(row.get('p50_us'))}  "
            f"p99 {ms(row.get('p99_us'))}  non-2xx {errors_cell(row)}\n")


def find(rows, section, backend, key, conn=None):
    for row in rows:
        if (row["section"], row["backend"], row["key"]) == (section, backend, key) and (
                conn is None or str(row["conn"]) == str(conn)):
            return row
    return None


def render(rows, header):
    out = [header, ""]
    ceilings = [r for r in rows if r["section"] == "ceiling"]
    conns = []
    for r in rows:
        if r["section"] == "scenario" and r["conn"] not in conns:
            conns.append(r["conn"])

    def ceiling(key, conn=None):
        row = find(rows, "ceiling", "-", key, conn)
        return rate(row) if row else 0

    out += ["**Ceilings, measured in the same run**", "",
            "| ceiling | conn | rate | p50 | p99 |", "|---|---|---|---|---|"]
    labels = {
        "trivial": "axum, trivial `GET /` (the web framework alone)",
        "groupcommit": "group-commit writer: `POST` of a 650-byte JSON body, durable in SQLite "
                       "(WAL, synchronous=FULL) by one rusqlite writer thread, one transaction "
                       "for whatever is waiting",
        "sqlite_insert_1": "SQLite raw durable insert of a submission-sized row (rusqlite, WAL, "
                           "synchronous=FULL), 1 row per transaction",
        "sqlite_insert_100": "the same, 100 rows per transaction",
        "pg_insert_1_c1": "PostgreSQL raw durable insert (fsync and synchronous_commit on), "
                          "1 row per transaction",
        "pg_insert_1_c16": "the same, 16 connections (the server's pool)",
        "pg_insert_100": "PostgreSQL, 100 rows per transaction (one `INSERT … UNNEST`)",
    }
    order = list(labels)
    ceilings.sort(key=lambda r: (order.index(r["key"]) if r["key"] in order else len(order),
                                 int(r["conn"])))
    for r in ceilings:
        label = labels.get(r["key"], r["key"])
        if r.get("body_bytes"):
            label = label.replace("650-byte", f"{r['body_bytes']}-byte")
        if "rows_per_s" in r:
            out.append(f"| {label} | {r['conn']} | {num(r['rows_per_s'])} rows/s | | |")
        else:
            out.append(f"| {label} | {r['conn']} | {num(rate(r))} req/s | {ms(r['p50_us'])} "
                       f"| {ms(r['p99_us'])} |")
    out.append("")

    out += ["**The server** (req/s counts the successful answers; p50 and p99 are of all "
            "answers; ratios: a write to the group-commit writer at the same "
            "connections and to the backend's raw insert rate at 1 / 100 rows per transaction; "
            "a read to the trivial endpoint at the same connections)", "",
            "| backend | scenario | conn | req/s | p50 | p99 | non-2xx | ÷ group commit "
            "| ÷ raw insert 1 / 100 per tx | ÷ trivial `GET` |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    notes = []
    for backend, name in BACKENDS.items():
        if backend == "postgres":
            raw1, raw100 = ceiling("pg_insert_1_c16"), ceiling("pg_insert_100")
        else:
            raw1, raw100 = ceiling("sqlite_insert_1"), ceiling("sqlite_insert_100")
        for key, label, kind in SCENARIOS:
            for conn in conns:
                r = find(rows, "scenario", backend, key, conn)
                if not r:
                    continue
                rps = rate(r)
                mark = f" — {r['note']}" if r.get("note") else ""
                pool = r.get("pool")
                if pool is not None and r.get("requests", 0) > pool:
                    mark += " ¹"
                    notes.append(f"{name} {key} at {conn} connections: {num(r['requests'])} "
                                 f"requests for {num(pool)}")
                if kind == "write":
                    cells = [ratio(rps, ceiling("groupcommit", conn)),
                             f"{ratio(rps, raw1)} / {ratio(rps, raw100)}", ""]
                else:
                    cells = ["", "", ratio(rps, ceiling("trivial", conn))]
                out.append(f"| {name} | {label}{mark} | {conn} | {num(rps)} | {ms(r['p50_us'])} "
                           f"| {ms(r['p99_us'])} | {errors_cell(r)} | " + " | ".join(cells) + " |")
    out.append("")

    users = [r for r in rows if r["section"] == "users"]
    if users:
        out += ["Voters (verified citizens with a session each) are inserted before the first "
                "scenario, more before a ballot run when needed, so every scenario runs with "
                "them in the database; in all: "
                + ", ".join(f"{BACKENDS.get(r['backend'], r['backend'])} {num(r['voters'])}"
                            for r in users) + ".", ""]
    memory = sorted((r for r in rows if r["section"] == "memory"),
                    key=lambda r: (list(BACKENDS).index(r["backend"]), r.get("node") or 1))
    if memory:
        out += ["| backend | server memory after start (VmRSS) | peak over the run (VmHWM) |",
                "|---|---|---|"]
        for r in memory:
            label = BACKENDS.get(r["backend"], r["backend"])
            if r.get("node"):
                label += f", node {r['node']}"
            out.append(f"| {label} | {r['idle_kb'] / 1024:.0f} MB | {r['peak_kb'] / 1024:.0f} MB |")
        out.append("")

    two = [r for r in rows if r["section"] == "twonode"]
    if two:
        out += ["**Two app nodes on one PostgreSQL** (`POST /api/v1/submissions`, two wrk "
                "processes, half the connections each, at the same time)", "",
                "| conn (total) | node 1 req/s | node 2 req/s | both | p99 (worse node) "
                "| non-2xx | one node, same conn | ratio |", "|---|---|---|---|---|---|---|---|"]
        for conn in conns:
            n1 = find(rows, "twonode", "postgres", "node1", conn)
            n2 = find(rows, "twonode", "postgres", "node2", conn)
            if not (n1 and n2):
                continue
            one = find(rows, "scenario", "postgres", "submit", conn)
            both = rate(n1) + rate(n2)
            single = rate(one) if one else 0
            out.append(f"| {conn} | {num(rate(n1))} | {num(rate(n2))} | {num(both)} | "
                       f"{ms(max(n1['p99_us'], n2['p99_us']))} | "
                       f"{num(n1.get('status', 0) + n2.get('status', 0))} | "
                       f"{num(single) if single else '—'} | {ratio(both, single)} |")
        out.append("")

    extra = [r for r in rows if r["section"] == "extra"]
    if extra:
        out += ["**Also measured** (first connection count only)", "",
                "| backend | scenario | conn | rate | p50 | p99 | non-2xx | note |",
                "|---|---|---|---|---|---|---|---|"]
        for r in extra:
            name = BACKENDS.get(r["backend"], r["backend"])
            if "cell" in r:
                out.append(f"| {name} | {r['label']} | {r['conn']} | {r['cell']} | | | | "
                           f"{r.get('note', '')} |")
            else:
                out.append(f"| {name} | {r['label']} | {r['conn']} | {num(rate(r))} req/s | "
                           f"{ms(r['p50_us'])} | {ms(r['p99_us'])} | {errors_cell(r)} | "
                           f"{r.get('note', '')} |")
        out.append("")

    logs = [r for r in rows if r["section"] == "log"]
    if logs:
        parts = []
        for r in logs:
            name = BACKENDS.get(r["backend"], r["backend"])
            if r.get("node"):
                name += f" node {r['node']}"
            top = f" ({r['first'].replace('|', '/')})" if r.get("first") else ""
            parts.append(f"{name}: {num(r['errors'])} error lines{top}")
        out += ["Server logs, error lines: " + "; ".join(parts) + ".", ""]
    if notes:
        out.append("¹ More requests than prepared submissions or voters (" + "; ".join(notes)
                   + "): the rest repeated one and were refused, so the figure is not valid.")
    return "\n".join(out).rstrip() + "\n"


def splice(doc, report):
    with open(doc, encoding="utf-8") as f:
        text = f.read()
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        sys.exit(f"{doc} has no {BEGIN} … {END} markers")
    with open(report, encoding="utf-8") as f:
        body = f.read()
    text = text[:start + len(BEGIN)] + "\n" + body + text[end:]
    with open(doc, "w", encoding="utf-8") as f:
        f.write(text)


def check(rows):
    failed = []
    for r in rows:
        if r["section"] in ("memory", "log", "users"):
            continue
        served = r.get("rows", r.get("requests", 0) - r.get("status", 0))
        if "cell" in r:
            served = r.get("served", 1)
        if served <= 0 or r.get("failed"):
            failed.append(f"{r['section']} {r['backend']} {r['key']} c={r['conn']}")
    for f in failed:
        sys.stderr.write(f"no successful request: {f}\n")
    return 1 if failed else 0


def registered_ids(database, org, needed, out):
    """Ids of the organisation's submissions still `registered` (the ones an official may
    take into work), oldest first, straight from the database: listing hundreds of
    thousands through the API's offset pages would take longer than the run."""
    query = (f"SELECT id FROM submissions WHERE org_id = {int(org)} AND status = 'registered' "
             f"ORDER BY id LIMIT {int(needed)}")
    if database.startswith("postgres"):
        text = subprocess.run(["psql", database, "-Atc", query], check=True,
                              capture_output=True, text=True).stdout
        ids = [line for line in text.splitlines() if line.strip()]
    else:
        path = database.removeprefix("sqlite://").removeprefix("sqlite:").split("?")[0]
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as db:
            ids = [str(row[0]) for row in db.execute(query)]
    with open(out, "w", encoding="utf-8") as f:
        f.write("".join(f"{i}\n" for i in ids))
    print(len(ids))


def log_summary(path):
    """The error lines of a server log, counted by request (method, path, status) or by
    message: (count, the three most frequent)."""
    counts = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = re.sub(r"\x1b\[[0-9;]*m", "", line).strip()
            if "ERROR" not in line:
                continue
            fields = dict(re.findall(r"(method|path|status)=(\S+)", line))
            if {"method", "path", "status"} <= fields.keys():
                path = re.sub(r"/\d+", "/{id}", fields["path"])
                what = f"{fields['status']} on {fields['method']} {path}"
            else:
                what = line.split("ERROR", 1)[1].strip()[:160]
            counts[what] = counts.get(what, 0) + 1
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:3]
    return sum(counts.values()), "; ".join(f"{num(n)} × {w}" for w, n in top)


def main(argv):
    command, args = argv[1], argv[2:]
    if command == "record":
        results, section, backend, key, conn, wrk_out, *rest = args
        row = {"section": section, "backend": backend, "key": key, "conn": conn,
               **parse_wrk(wrk_out), **extras(rest)}
        append(results, row)
        progress(row)
    elif command == "record-json":
        results, section, backend, key, conn, data, *rest = args
        row = {"section": section, "backend": backend, "key": key, "conn": conn,
               **json.loads(data), **extras(rest)}
        append(results, row)
        progress(row)
    elif command == "note":
        results, section, backend, key, *rest = args
        append(results, {"section": section, "backend": backend, "key": key, "conn": "",
                         **extras(rest)})
    elif command == "log":
        results, backend, node, path = args
        errors, top = log_summary(path)
        append(results, {"section": "log", "backend": backend, "key": f"log{node}", "conn": "",
                         "node": node, "errors": errors, "first": top})
    elif command == "served":
        print(f"{rate(parse_wrk(args[0])):.0f}")
    elif command == "get":
        results, section, backend, key, conn, field = args
        row = find(load(results), section, backend, key, conn)
        value = (rate(row) if field == "rate" else row.get(field, 0)) if row else 0
        print(f"{value:.0f}" if isinstance(value, float) else value)
    elif command == "render":
        results, header = args
        sys.stdout.write(render(load(results), header))
    elif command == "splice":
        splice(*args)
    elif command == "check":
        return check(load(args[0]))
    elif command == "ids":
        registered_ids(*args)
    else:
        sys.exit(f"unknown command {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
