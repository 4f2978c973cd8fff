"""The moments (Asia/Shanghai) at which CI runs the suite again under libfaketime, one per line as
`FAKETIME|moment and why`, FAKETIME being the offset from now in seconds (`-123456s`): an offset keeps every
child process (`carebot serve`, `carebot demo`) on the same clock as the suite, where a start-at time would
start each child afresh. With --lib, the path of libfaketime.so.1 from PyPI's `libfaketime` package.

The 调休 day comes from the `holidays` package: the first weekend working day of 2027 when the package knows
2027's schedule, else the latest one it knows (the State Council publishes each year's schedule late in the year
before): 2026-10-10 today. Test data that a `carebot` subprocess checks against the wall clock (opened times that
must not lie in the future) is dated before every moment here."""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo


def shifted_working_weekend_day() -> tuple[str, str]:
    import holidays

    for year in (2027, 2026, 2025):
        days = sorted(d for d in holidays.China(years=year).weekend_workdays if d.year == year)
        if days:
            day = days[0] if year == 2027 else days[-1]
            return day.isoformat(), f"调休 working {day:%A} of {year} from holidays"
    raise SystemExit("holidays knows no 调休 working day")


def main() -> None:
    if sys.argv[1:] == ["--lib"]:
        import libfaketime

        print(Path(libfaketime.__file__).parent / "vendor" / "libfaketime" / "src" / "libfaketime.so.1")
        return
    day, why = shifted_working_weekend_day()
    shifted = [(f"{day} 10:00:00", why)]
    for moment, reason in [("2026-11-28 10:00:00", "a Saturday"),
                           ("2027-02-06 09:00:00", "Spring Festival 2027, a day off"),
                           *shifted,
                           ("2026-12-31 23:59:30", "New Year's Eve: the date rolls over during the run")]:
        at = dt.datetime.fromisoformat(moment).replace(tzinfo=ZoneInfo("Asia/Shanghai"))
        print(f"{round(at.timestamp() - time.time()):+d}s|{moment} Asia/Shanghai, {reason}")


if __name__ == "__main__":
    main()
