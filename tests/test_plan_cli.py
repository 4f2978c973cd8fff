"""`carebot rules show|check|set` and `carebot plan` as an admin and a supervisor use them."""

from __future__ import annotations

import json

from tests.test_cli import invoke


def test_rules_check_names_the_key_and_line_and_applies_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("# our team\ntriggers:\n  periodic:\n    use: weekly\netiquette:\n  monthly_cap: {vip: 3}\n",
                   encoding="utf-8")
    result = invoke(tmp_path, "rules", "check", str(bad))
    assert result.exit_code == 1
    assert f"{bad}:3: triggers.periodic" in result.output and "'weekly' is not one of the presets" in result.output
    assert f"{bad}:6: etiquette.monthly_cap" in result.output and "nothing applied" in result.output
    assert invoke(tmp_path, "rules", "set", str(bad)).exit_code == 1
    assert "use: standard" in invoke(tmp_path, "rules", "show").output, "the bad file was not applied"


def test_rules_set_then_show_prints_the_effective_rules(tmp_path):
    good = tmp_path / "team.yaml"
    good.write_text("triggers:\n  periodic:\n    use: worksheet\n", encoding="utf-8")
    assert "valid" in invoke(tmp_path, "rules", "check", str(good)).output
    assert invoke(tmp_path, "rules", "set", str(good), "--by", "admin").exit_code == 0
    shown = invoke(tmp_path, "rules", "show").output
    assert "use: worksheet" in shown and "high_value_min_spend: 100000" in shown
    # how the rules combine is written at the top (issue 11), and what is printed is a valid rules file
    assert "the customer is touched at the earliest date" in shown and "ceiling on the gap" in shown
    shown_file = tmp_path / "shown.yaml"
    shown_file.write_text(shown, encoding="utf-8")
    assert "valid" in invoke(tmp_path, "rules", "check", str(shown_file)).output


def test_plan_json_lists_every_callback_and_a_candidate_rules_file_changes_it(tmp_path):
    import datetime as dt
    from zoneinfo import ZoneInfo

    # the import plans on the system clock; the forecast starts on the day the sheet names (--from), so the two
    # agree on any day, and when midnight passes between them (CI runs the suite at 2026-12-31 23:59:30)
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert invoke(tmp_path, "staff", "add", "U0LINA", "--role", "agent").exit_code == 0
    sheet = tmp_path / "customers.csv"
    sheet.write_text("code,name,phone,owner,first purchase\n"
                     f"N1,Nora,13812345678,U0LINA,{today.isoformat()}\n", encoding="utf-8")
    assert invoke(tmp_path, "import", "customers", str(sheet)).exit_code == 0

    result = invoke(tmp_path, "plan", "--days", "30", "--json", "--from", today.isoformat())
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows and all(set(r) == {"date", "agent", "customer_code", "kind", "rule"} for r in rows)
    assert {(r["agent"], r["customer_code"]) for r in rows} == {("U0LINA", "N1")}
    kinds = {r["kind"]: r for r in rows}
    assert {"welcome", "first_use", "periodic_touch"} <= set(kinds)
    assert kinds["first_use"]["rule"] == "first_purchase.first_use"
    assert dt.date.fromisoformat(kinds["first_use"]["date"]) >= today + dt.timedelta(days=7)

    faster = tmp_path / "faster.yaml"
    faster.write_text("triggers:\n  first_purchase:\n    first_use: {after: {days: 3}}\n", encoding="utf-8")
    candidate = json.loads(invoke(tmp_path, "plan", "--days", "30", "--json", "--rules", str(faster),
                                  "--from", today.isoformat()).stdout)
    first_use = next(r for r in candidate if r["kind"] == "first_use")
    assert first_use["date"] < kinds["first_use"]["date"], "the candidate rules move the first-use callback"
    assert "after: {days: 3}" not in invoke(tmp_path, "rules", "show").stdout, "a candidate is not applied"

    table = invoke(tmp_path, "plan", "--days", "7", "--from", today.isoformat()).stdout.splitlines()
    assert table[0].split() == ["date", "U0LINA", "total"] and len(table) == 1 + 7 + 1
    assert table[1].startswith(today.isoformat())
    assert table[7].startswith((today + dt.timedelta(days=6)).isoformat())
    assert table[1].split()[0] == today.isoformat() and table[-1].split()[0] == "total"
