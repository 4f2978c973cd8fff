"""How fast and how big `carebot import customers` is on a 100,000-row .xlsx, against a baseline in the same run.

    python bench/bench_import.py [--rows 100000] [--seed 9] [--keep DIR]

Writes a seeded workbook as teams keep them (客户编号 formatted 000000, 手机号码 as numbers and as text,
date cells, 是/否 consent, 2% duplicates by phone or email, 1% bad rows), then runs, each in its own process:
- baseline: python-calamine (the reader the import uses) merely reading every cell of the same file;
- import: `import_customers` into a fresh database (SQLite, or a scratch PostgreSQL database when
  CAREBOT_DATABASE_URL is a PostgreSQL URL).
Reports wall time and peak RSS of each, the import/baseline ratios, how long the import's one write
transaction lasted, and the targets of issue 9 (under 30 s, under 300 MB).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CAREBOT_SECRET_KEY", "bench-only-key-" + "x" * 32)  # customer data is sealed at rest

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
TIERS = ["普通", "潜力", "高价值", "VIP", ""]
TAGS = ["价格敏感", "注重售后", "喜欢促销", "科技爱好者", ""]


def write_workbook(path: Path, rows: int, seed: int) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    rng = random.Random(seed)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("客户")
    sheet.append(["客户编号", "姓名", "手机号码", "邮箱", "公司", "客户等级", "首次购买时间", "生日", "年消费", "标签",
                  "同意", "来源渠道"])
    name = ""
    for i in range(1, rows + 1):
        code = WriteOnlyCell(sheet, value=i)
        code.number_format = "000000"
        duplicate = rng.random() < 0.02  # the previous person again under another code, phone written otherwise
        phone_n = 13800000000 + (i - 1 if duplicate else i)
        phone: object = phone_n if i % 2 else f"+86 {str(phone_n)[:3]} {str(phone_n)[3:7]} {str(phone_n)[7:]}"
        if rng.random() < 0.01:
            phone = "12345"  # a bad row
        if not duplicate:
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.5 else "")
        first = dt.datetime(2020, 1, 1) + dt.timedelta(days=rng.randrange(0, 2000), hours=rng.randrange(8, 20))
        birthday = dt.datetime(1960, 1, 1) + dt.timedelta(days=rng.randrange(0, 15000))
        sheet.append([code, name, phone, f"user{i}@example.com" if rng.random() < 0.7 else None,
                      f"公司{rng.randrange(1000)}", rng.choice(TIERS), first, birthday,
                      round(rng.uniform(0, 200000), 2), rng.choice(TAGS), rng.choice(["是", "否", "是"]),
                      rng.choice(["抖音", "官网", "线下门店"])])
    book.save(path)


def _child(mode: str, file: str, url: str) -> None:
    import resource
    import time

    started = time.perf_counter()
    out: dict[str, object] = {}
    if mode == "baseline":
        from python_calamine import CalamineWorkbook

        cells = 0
        for row in CalamineWorkbook.from_path(file).get_sheet_by_index(0).to_python(skip_empty_area=False):
            for _cell in row:
                cells += 1
        out["cells"] = cells
    else:
        from zoneinfo import ZoneInfo

        from bot.clock import ManualClock
        from bot.services.core import Services
        from bot.services.customer_import import import_customers
        from storage.db import Database
        from storage.migrate import upgrade

        upgrade(url)
        started = time.perf_counter()  # the schema is not the import's
        svc = Services(db=Database(url), clock=ManualClock(dt.datetime(2026, 11, 24, 10, tzinfo=ZoneInfo(
            "Asia/Shanghai"))), default_team="default")
        report = import_customers(svc, Path(file))
        out.update(created=report.created, merged=len(report.merged), refused=report.refused,
                   lock_seconds=round(report.lock_seconds, 2), plan_deferred=report.plan_deferred)
    out["seconds"] = round(time.perf_counter() - started, 2)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out["cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 2)  # less swayed by a busy machine than wall time
    out["peak_mb"] = round(usage.ru_maxrss / 1024, 1)
    print(json.dumps(out))


def _run(mode: str, file: Path, url: str) -> dict:
    result = subprocess.run([sys.executable, __file__, "--child", mode, str(file), url], capture_output=True,
                            text=True, cwd=ROOT, check=False)
    if result.returncode != 0:
        sys.exit(f"{mode} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--keep", type=Path, default=None, help="Keep the workbook and database here.")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-import-"))
    work.mkdir(parents=True, exist_ok=True)
    file = work / f"customers-{args.rows}.xlsx"
    write_workbook(file, args.rows, args.seed)
    print(f"{file.name}: {file.stat().st_size / 1e6:.1f} MB, {args.rows:,} rows (seed {args.seed})")
    base_url = os.environ.get("CAREBOT_DATABASE_URL", "")
    if base_url.startswith("postgres"):
        from tests.conftest import scratch_postgres_database

        with scratch_postgres_database(base_url) as url:
            imported = _run("import", file, url)
    else:
        db = work / "bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        imported = _run("import", file, f"sqlite:///{db}")
    baseline = _run("baseline", file, "")
    print(f"load average (1 min) after the runs: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"baseline (python-calamine, every cell):    {baseline['seconds']:6.2f} s wall "
          f"{baseline['cpu_seconds']:6.2f} s CPU  {baseline['peak_mb']:6.1f} MB")
    print(f"import customers:                          {imported['seconds']:6.2f} s wall "
          f"{imported['cpu_seconds']:6.2f} s CPU  {imported['peak_mb']:6.1f} MB"
          f"  (created {imported['created']:,}, merged {imported['merged']:,}, refused {imported['refused']:,})")
    print(f"ratio import / baseline: time {imported['seconds'] / baseline['seconds']:.2f}x wall, "
          f"{imported['cpu_seconds'] / baseline['cpu_seconds']:.2f}x CPU, "
          f"peak memory {imported['peak_mb'] / baseline['peak_mb']:.2f}x")
    print(f"write transaction held for {imported['lock_seconds']} s; "
          f"planning {'left to the nightly run' if imported['plan_deferred'] else 'done at once'}")
    ok = imported["seconds"] < 30 and imported["peak_mb"] < 300
    print(f"targets (issue 9: < 30 s wall, < 300 MB): {'met' if ok else 'NOT met'}"
          f" (CPU time {imported['cpu_seconds']} s: what a quiet machine would take, roughly)")


if __name__ == "__main__":
    main()
