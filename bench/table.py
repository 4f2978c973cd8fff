"""The bench's printed table (the README's) and the machine it ran on."""

from __future__ import annotations

import contextlib
import os
import platform
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.run import Measure


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        if value >= 1:
            return f"{value:.2f} s"
        return f"{value * 1000:.1f} ms" if value >= 0.01 else f"{value * 1000:.2f} ms"
    if unit == "MB":
        return f"{value:.0f} MB"
    return f"{value:.0f}{unit}"


def _line(m: Measure) -> str:
    ratio = f"{m.ratio:.2f}×" if m.ratio is not None else ""
    return (f"{m.label}: {_fmt(m.ours, m.unit)} vs {m.baseline_label} {_fmt(m.baseline, m.unit)} {ratio} "
            f"goal {m.goal}: {'met' if m.met else 'missed'}")


def table(report: dict) -> str:
    """The Markdown table of the README: one row per measure, the databases side by side, notes under it."""
    runs = report["runs"]
    names = " / ".join("SQLite" if r["database"] == "sqlite" else "PostgreSQL" for r in runs)
    lines = [f"| measure | Carebot ({names}) | baseline in the same run | ratio | goal | met |",
             "|---|---|---|---|---|---|"]
    keys = list(dict.fromkeys(m["name"] for r in runs for m in r["measures"]))
    for key in keys:
        rows = [next((m for m in r["measures"] if m["name"] == key), None) for r in runs]
        first = next(m for m in rows if m)
        ours = " / ".join(_fmt(m["ours"], m["unit"]) if m else "—" for m in rows)
        base = " / ".join(_fmt(m["baseline"], m["unit"]) if m else "—" for m in rows)
        ratio = " / ".join(f"{m['ratio']:.2f}×" if m and m["ratio"] is not None else "—" for m in rows)
        met = " / ".join(("yes" if m["met"] else "no") if m else "—" for m in rows)
        lines.append(f"| {first['label']} | {ours} | {first['baseline_label']} {base} | {ratio} | {first['goal']} "
                     f"| {met} |")
    notes = []
    for run in runs:
        found = {m["name"]: m for m in run["measures"]}
        said = []
        if "morning_list" in found:
            said.append(f"{found['morning_list']['detail']['due_rows']:,} due rows")
        if "sla_sweep_first" in found:
            d = found["sla_sweep_first"]["detail"]
            rendering = d.get("rendered_at_delivery_s", 0) * 1000
            said.append(f"first sweep claimed {d['notices']} notices and queued {d.get('posts', '?')} posts, which "
                        f"the outbox builds and renders as it sends them ({rendering:.0f} ms for all, after it)")
        for key in ("due_ack_c1", "due_ack_c8", "log_call_c1", "log_call_c8"):
            if key in found and "cpu_ms_each" in found[key]["detail"]["ours"]:
                d = found[key]["detail"]
                workers = d["ours"].get("workers_cpu_ms_each")
                said.append(f"{key}: {d['ours']['cpu_ms_each']:.1f} ms CPU a request"
                            + (f" + {workers:.1f} ms in its workers" if workers else "")
                            + f" (bare Bolt {d['bare']['cpu_ms_each']:.1f})"
                            + (f", {d['ours']['acks_per_s']:.0f} acked/s" if key.startswith("log") else "")
                            + (f"; its floor (bench/floor.py) {d['floor']['per_s']:.0f}/s at "
                               f"{d['floor']['cpu_ms_each']:.1f} ms CPU" if "floor" in d else ""))
        if "first_start_rss" in found:
            d = found["first_start_rss"]["detail"]
            peaks = ", ".join(f"{w:.0f}" for w in d.get("worker_processes_peak_mb") or [])
            said.append(f"first start {d['note']}, then {d['after_mb']:.0f} MB"
                        + (f"; its worker processes peaked at {peaks} MB; all its processes together "
                           f"{d['all_processes_pss_mb_after']:.0f} MB PSS" if peaks else ""))
        if "import" in found:
            d = found["import"]["detail"]
            said.append(f"import peak {d['peak_mb']:.0f} MB (openpyxl alone {d['baseline_peak_mb']:.0f} MB)")
        notes.append(f"- {run['version']}: " + "; ".join(said))
    return "\n".join(lines + [""] + notes)


def machine() -> dict:
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as handle:
        model = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "")
    memory = ""
    with contextlib.suppress(OSError), open("/proc/meminfo") as handle:
        memory = f"{int(handle.readline().split()[1]) // 1024 // 1024} GB"
    return {"cpu": model, "cores": os.cpu_count(), "memory": memory, "os": platform.platform(),
            "python": platform.python_version()}
