"""Customer personal data at rest (issue 9, care-domain §8): nothing readable in the database files, lookups
through keyed hashes, the name search through the blind index, erasure, key rotation, the audit trail."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, make_url, select, text

from bot.services.customers import import_customers
from bot.services.errors import CareError
from bot.services.people import Role, add_staff
from bot.services.privacy import audit_trail, erase_customer, record_audit, rotate_keys, rotation_status
from storage import crypto, queries
from storage.models import Base, Callback, CallLog, Complaint, Customer
from storage.privacy_models import CustomerSearchToken
from storage.sla_models import EscalationAudit
from tests.conftest import DEFAULT_NOW
from tests.seed import callback, complaint, customer

CASES = Path(__file__).parent / "cases" / "import"  # copies of ../shared/cases/import, byte for byte
# the sheets of CASES the customer import refuses as a whole, on purpose, and why (tests/test_import_cases.py)
REFUSED_CASES = {"chinese_date.csv": "errors.bad_header"}  # no phone column
KEY_A = "key-a-" + "a" * 40
KEY_B = "key-b-" + "b" * 40

MESSY = """客户编号,姓名,联系方式,邮箱,生日,客户经理
P001,欧阳娜娜,13912345601,nana.ouyang@example.cn,1991-03-04,U0AGENT
P002,Zhang Wei,+86 139 1234 5602,ZHANG.wei@Example.com,,U0AGENT
P003,王小明,13912345603,,1985-12-31,
"""


def stored_bytes(database_url: str, db) -> bytes:
    """Everything the database holds on disk: the SQLite file and its WAL, or every PostgreSQL row as text."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database)
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    with db.engine.connect() as connection:
        return "\n".join(
            line for table in Base.metadata.sorted_tables
            for line in connection.execute(text(f'SELECT row_to_json(t)::text FROM "{table.name}" t')).scalars()
        ).encode()


def needles_of(session) -> set[str]:
    """Every plaintext name, phone (E.164 and national digits), email and note the database holds."""
    needles: set[str] = set()
    for c in session.scalars(select(Customer)):
        needles |= {c.name, c.email or "", c.phone or "", (c.phone or "")[3:]}
        if c.birthday:
            needles.add(c.birthday.isoformat())
    for call in session.scalars(select(CallLog)):
        needles |= {call.summary, call.feedback}
    for row in session.scalars(select(Complaint)):
        needles |= {row.description, row.resolution}
    return {n for n in needles if len(n) >= 4}


def test_after_importing_the_cases_no_plaintext_is_stored(team, tmp_path, database_url):
    services = team
    add_staff(services, "U0AGENT1", Role.AGENT)  # the owner the cases name: their rows are imported, not refused
    sheets = sorted(CASES.glob("*.csv"))
    assert len(sheets) >= 8, f"the import cases are missing from {CASES}"
    (tmp_path / "messy.csv").write_text(MESSY, encoding="utf-8")
    refused: dict[str, str] = {}
    for sheet in [*sheets, tmp_path / "messy.csv"]:
        copy = tmp_path / sheet.name
        if sheet != copy:
            shutil.copy(sheet, copy)
        try:
            import_customers(services, copy)
        except CareError as refusal:  # the import's own refusal of a whole sheet: it stores nothing
            refused[sheet.name] = refusal.key
    assert refused == REFUSED_CASES
    with services.db.unit_of_work() as session:
        nana = queries.customer_by_code(session, "default", "P001")
        session.add(CallLog(team_id="default", customer_id=nana.id, staff_id="U0AGENT", channel="phone",
                            outcome="reached", rating=4, summary="她说新地址是朝阳区幸福路88号",
                            feedback="wants a refund to card 6222020200112233", called_at=services.clock.now()))
        session.add(Complaint(team_id="default", customer_id=nana.id, owner_id="U0AGENT",
                              description="快递员把包裹放在了邻居家门口", resolution="退款已到账，客户满意",
                              opened_at=services.clock.now()))
    with services.db.unit_of_work() as session:  # what the bulk import wrote is found by hash and by name piece
        assert queries.customer_by_phone(session, "default", "+8613912345602").code == "P002"
        assert queries.customer_by_email(session, "default", "zhang.wei@example.com").code == "P002"
        assert [c.code for c in queries.customers_matching(session, "default", "欧阳", 5)] == ["P001"]
    with services.db.unit_of_work() as session:
        needles = needles_of(session)
        assert {"欧阳娜娜", "Zhang Wei", "nana.ouyang@example.cn", "+8613912345601", "1991-03-04"} <= needles
        assert len(needles) > 20
    raw = stored_bytes(database_url, services.db)
    assert b"P001" in raw and b"U0AGENT" in raw  # the scan sees what is kept in clear (codes, staff ids)
    found = [n for n in needles if n.encode() in raw]
    assert found == [], f"plaintext personal data stored: {found}"


def test_phone_and_email_are_found_through_keyed_hashes(team):
    services = team
    customer(services, "A1", "李雷", phone="+8613800000001")
    with services.db.unit_of_work() as session:
        session.scalars(select(Customer)).one().email = "Li.Lei@Example.COM"
    with services.db.unit_of_work() as session:
        assert queries.customer_by_phone(session, "default", "+8613800000001").code == "A1"
        assert queries.customer_by_email(session, "default", " li.lei@example.com").code == "A1"
        assert queries.customer_by_phone(session, "default", "+8613800000002") is None
        assert queries.customer_by_phone(session, "other", "+8613800000001") is None
        row = session.execute(text("SELECT phone, phone_hash, email_hash FROM customer")).one()
        assert row.phone.startswith("c1.") and "13800000001" not in row.phone
        assert len(row.phone_hash) == 16 and row.email_hash


def test_search_by_name_piece_or_code_prefix(team):
    services = team
    for code, name in [("A001", "欧阳娜娜"), ("A002", "欧阳修"), ("B001", "Alice Wang"), ("B002", "Bob Stone"),
                       ("C001", "王小明")]:
        customer(services, code, name)

    def codes(query: str) -> list[str]:
        with services.db.unit_of_work() as session:
            return [c.code for c in queries.customers_matching(session, "default", query, limit=10)]

    assert codes("欧阳") == ["A001", "A002"]
    assert codes("娜") == ["A001"]
    assert codes("王") == ["C001"]
    assert codes("alice wang") == ["B001"] and codes("CE WA") == ["B001"]
    assert codes("lice Wan") == ["B001"]  # longer than a piece: candidates by 3-character pieces, then checked
    assert codes("ice S") == []  # has pieces of both names but is in neither
    assert codes("b0") == ["B001", "B002"] and codes("A00") == ["A001", "A002"]
    assert codes("nobody") == []
    assert len(codes("")) == 5


def test_renaming_moves_the_search_index(team):
    services = team
    customer(services, "A1", "张三")
    with services.db.unit_of_work() as session:
        session.scalars(select(Customer)).one().name = "李四"
    with services.db.unit_of_work() as session:
        assert queries.customers_matching(session, "default", "张", 5) == []
        assert [c.code for c in queries.customers_matching(session, "default", "李四", 5)] == ["A1"]


def test_erase_leaves_no_trace_of_the_person_but_keeps_the_counts(team, clock, database_url):
    services = team
    now = clock.now()
    kept = customer(services, "K1", "留下的客户", phone="+8613900000009")
    gone = customer(services, "E1", "要删除的人", phone="+8613900000001")
    with services.db.unit_of_work() as session:
        person = session.get(Customer, gone)
        person.email, person.company, person.tags = "gone@example.com", "秘密公司", ["vip"]
        session.add(CallLog(team_id="default", customer_id=gone, staff_id="U0AGENT", channel="phone",
                            outcome="reached", rating=2, summary="说了家庭住址", feedback="很不满意",
                            called_at=now))
    open_cb = callback(services, gone, now, params={"anchor": "1990-05-01"})
    ticket = complaint(services, gone, now, now)
    with services.db.unit_of_work() as session:
        session.get(Complaint, ticket).description = "客户手机 13900000001 丢件"
        session.add(EscalationAudit(complaint_id=ticket, actor_id="U0SUPER", action="resolved",
                                    note="打电话给13900000001", at=now))
    erased = erase_customer(services, "E1", "cli:root")
    assert (erased.calls_kept, erased.complaints_kept, erased.callbacks_cancelled) == (1, 1, 1)
    with services.db.unit_of_work() as session:
        person = session.get(Customer, gone)
        assert (person.name, person.phone, person.email, person.company, person.tags) == ("", None, None, None, [])
        assert person.erased_at is not None and person.consent is False and person.phone_hash is None
        call = session.scalars(select(CallLog)).one()
        assert (call.summary, call.feedback, call.rating, call.outcome) == ("", "", 2, "reached")
        ticket_row = session.get(Complaint, ticket)
        assert ticket_row.description == "" and ticket_row.status == "resolved"
        assert session.scalars(select(EscalationAudit.note)).all() == [""]
        cb = session.get(Callback, open_cb)
        assert cb.status == "cancelled" and cb.params == {}
        assert session.scalar(select(func.count()).select_from(CustomerSearchToken)
                              .where(CustomerSearchToken.customer_id == gone)) == 0
        assert queries.customer_by_phone(session, "default", "+8613900000001") is None
        assert [c.id for c in queries.customers_matching(session, "default", "删除", 5)] == []
        assert [c.id for c in queries.customers_matching(session, "default", "留下", 5)] == [kept]
        assert session.scalar(select(func.count()).select_from(Customer)) == 2
    lines = audit_trail(services, code="E1")
    assert [(line.actor_id, line.action) for line in lines] == [("cli:root", "erased")]
    assert lines[0].at == now
    with pytest.raises(Exception) as second:
        erase_customer(services, "E1", "cli:root")
    assert getattr(second.value, "key", "") == "privacy.errors.already_erased"


def test_an_old_sheet_imported_again_does_not_bring_an_erased_person_back(team, tmp_path):
    """PIPL erasure is final: the team's old sheet, imported again, refuses the erased person's row with its
    line (their code is retired) and imports the others; the erased row stays empty."""
    from bot.services.customer_import import import_customers

    sheet = tmp_path / "book.csv"
    sheet.write_text("编号,姓名,手机,邮箱\nE1,要删除的人,13900000001,gone@example.com\nK1,留下的客户,13900000009,\n"
                     "E2,要删除的人,13900000001,\n",  # the same person under another code: merged into E1
                     encoding="utf-8")
    first = import_customers(team, sheet)
    assert first.created == 2 and [line for line, _ in first.merged] == [4]
    erase_customer(team, "E1", "cli:root")
    again = import_customers(team, sheet)
    assert (again.created, again.updated, again.unchanged, again.merged) == (0, 0, 1, [])
    assert [line for line, _ in again.errors] == [2, 4] and "was erased on" in again.errors[0][1]
    assert again.errors[1][1] == "merged with line 2 (E1), which was refused"
    with team.db.unit_of_work() as session:
        person = queries.customer_by_code(session, "default", "E1")
        assert (person.name, person.phone, person.email) == ("", None, None) and person.erased_at is not None
        assert queries.customer_by_phone(session, "default", "+8613900000001") is None


def test_rotation_re_encrypts_everything_and_resumes_after_a_stop(team):
    services = team
    crypto.use_keyring(crypto.Keyring(KEY_A))
    try:
        for i in range(5):
            customer(services, f"R{i}", f"轮换客户{i}", phone=f"+861380000010{i}")
        crypto.use_keyring(crypto.Keyring(KEY_B, (KEY_A,)))
        assert rotation_status(services).pending["customer"] == 5

        def stop_after_first_batch(_table, _rows):
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            rotate_keys(services, batch=2, progress=stop_after_first_batch)
        assert rotation_status(services).pending["customer"] == 3  # the first batch stayed done
        with services.db.unit_of_work() as session:  # half-way: lookups still find both kinds of rows
            assert queries.customer_by_phone(session, "default", "+8613800000104").code == "R4"
            assert [c.code for c in queries.customers_matching(session, "default", "轮换", 10)] == \
                [f"R{i}" for i in range(5)]
        seen: list[int] = []
        rotate_keys(services, batch=2, progress=lambda _t, rows: seen.append(rows))
        assert seen == [2, 1] and sum(rotation_status(services).pending.values()) == 0
        crypto.use_keyring(crypto.Keyring(KEY_B))  # the old key is gone: everything still reads
        with services.db.unit_of_work() as session:
            assert sorted(c.name for c in session.scalars(select(Customer))) == [f"轮换客户{i}" for i in range(5)]
            assert queries.customer_by_phone(session, "default", "+8613800000100").code == "R0"
            assert [c.code for c in queries.customers_matching(session, "default", "客户3", 10)] == ["R3"]
        crypto.use_keyring(crypto.Keyring(KEY_A))  # the wrong key: a clear error, never garbage
        with services.db.unit_of_work() as session, pytest.raises(crypto.KeyProblem, match="not configured"):
            session.scalars(select(Customer)).all()
    finally:
        crypto.use_keyring(None)


def test_rows_written_before_encryption_are_sealed_by_rotate(team):
    services = team
    with services.db.unit_of_work() as session:  # as migration 0007 finds them: plaintext, no hashes
        session.execute(text("INSERT INTO customer (team_id, code, name, phone, tier, tags, consent, "
                             "needs_follow_up, created_at) VALUES ('default', 'OLD1', '老客户甲', '+8613700000001', "
                             "'ordinary', '[]', true, false, :now)"), {"now": DEFAULT_NOW.replace(tzinfo=None)})
    with services.db.unit_of_work() as session:
        assert session.scalars(select(Customer)).one().name == "老客户甲"  # readable meanwhile
        assert queries.customer_by_phone(session, "default", "+8613700000001") is None
    assert rotation_status(services).pending["customer"] == 1
    rotate_keys(services)
    with services.db.unit_of_work() as session:
        raw = session.execute(text("SELECT name, phone FROM customer")).one()
        assert raw.name.startswith("c1.") and raw.phone.startswith("c1.")
        assert queries.customer_by_phone(session, "default", "+8613700000001").code == "OLD1"
        assert [c.code for c in queries.customers_matching(session, "default", "客户甲", 5)] == ["OLD1"]


def test_a_value_moved_to_another_column_does_not_decrypt():
    ring = crypto.Keyring(KEY_A)
    sealed = ring.seal("customer.name", "张三")
    assert ring.open("customer.name", sealed) == "张三"
    with pytest.raises(crypto.KeyProblem, match="does not authenticate"):
        ring.open("customer.phone", sealed)
    with pytest.raises(crypto.KeyProblem, match="at least 32"):
        crypto.Keyring("short")


def test_record_audit_is_a_line_in_the_trail(team, clock):
    services = team
    cid = customer(services, "A1", "看过的人")
    with services.db.unit_of_work() as session:
        record_audit(session, "U0ADMIN", "exported", cid, {"format": "csv", "full": True}, at=clock.now())
    [line] = audit_trail(services, code="A1")
    assert (line.actor_id, line.action, line.customer_code, line.detail) == \
        ("U0ADMIN", "exported", "A1", {"format": "csv", "full": True})


@pytest.fixture
def cli(tmp_path):
    """`carebot …` in-process on a SQLite file of its own; the keys are re-read from the environment."""
    from click.testing import CliRunner

    from bot.cli import main

    def run(*args: str, key: str | None = None):
        env = {"CAREBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'carebot.db'}"}
        if key is not None:
            env["CAREBOT_SECRET_KEY"] = key
        crypto.use_keyring(None)
        try:
            return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        finally:
            crypto.use_keyring(None)

    return run


def test_the_command_line_without_a_key_says_what_to_do_and_the_demo_makes_its_own(cli, tmp_path):
    refused = cli("config", "show", key="")
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert "CAREBOT_SECRET_KEY is not set" in refused.output and "carebot keys generate" in refused.output
    demo_db = tmp_path / "demo.db"
    demo = cli("demo", "--database-url", f"sqlite:///{demo_db}", key="")
    assert demo.exit_code == 0, demo.output
    assert "a key of its own, kept in" in demo.output and "张*" in demo.output
    assert (tmp_path / "demo.key").exists(), "kept beside the database, so serve and digest can open it"
    assert "张女士".encode() not in demo_db.read_bytes() + Path(f"{demo_db}-wal").read_bytes()


def test_erase_and_audit_from_the_command_line(cli, tmp_path):
    (tmp_path / "messy.csv").write_text(MESSY, encoding="utf-8")
    assert cli("staff", "add", "U0AGENT", "--role", "agent").exit_code == 0
    imported = cli("import", "customers", str(tmp_path / "messy.csv"))
    assert imported.exit_code == 0, imported.output
    erased = cli("customer", "erase", "P001", "--yes")
    assert erased.exit_code == 0, erased.output
    assert "erased customer P001" in erased.output
    trail = cli("audit", "--customer", "P001")
    assert trail.exit_code == 0 and " erased " in trail.output and "cli:" in trail.output
    unknown = cli("customer", "erase", "NOPE", "--yes")
    assert unknown.exit_code == 1 and "No customer with code NOPE" in unknown.output
    consent = cli("customer", "consent", "P002", "--withdrawn")
    assert consent.exit_code == 0 and "consent of P002 withdrawn" in consent.output
    assert "changed" in cli("audit", "--customer", "P002").output
    status = cli("keys", "status")
    assert status.exit_code == 0 and "customer" in status.output and " 0 row(s)" in status.output


def test_an_export_under_the_wrong_key_fails_cleanly_and_leaves_no_file(cli, tmp_path):
    (tmp_path / "messy.csv").write_text(MESSY, encoding="utf-8")
    assert cli("staff", "add", "U0AGENT", "--role", "agent").exit_code == 0
    assert cli("import", "customers", str(tmp_path / "messy.csv")).exit_code == 0
    out, kept = tmp_path / "customers.csv", tmp_path / "last-week.csv"
    kept.write_text("an earlier export\n", encoding="utf-8")
    for target in (out, kept):
        failed = cli("export", "customers", "--output", str(target), key=KEY_B)
        assert failed.exit_code == 1 and "Traceback" not in failed.output
        assert "CAREBOT_SECRET_KEY" in failed.output, failed.output
    assert not out.exists(), "no header-only file left behind"
    assert kept.read_text(encoding="utf-8") == "an earlier export\n", "an earlier file is not clobbered"
    assert sorted(p.name for p in tmp_path.iterdir() if "customers" in p.name or "last-week" in p.name) == \
        ["last-week.csv"]
    to_stdout = cli("export", "customers", key=KEY_B)
    assert to_stdout.exit_code == 1 and "code,name" not in to_stdout.output
    worked = cli("export", "customers", "--output", str(out))
    assert worked.exit_code == 0 and "P001" in out.read_text(encoding="utf-8-sig")


def test_the_audit_trail_prints_times_in_the_teams_timezone_and_says_which(cli, tmp_path):
    from bot.clock import SystemClock

    (tmp_path / "messy.csv").write_text(MESSY, encoding="utf-8")
    assert cli("staff", "add", "U0AGENT", "--role", "agent").exit_code == 0
    assert cli("config", "set", "timezone", "America/New_York").exit_code == 0
    imported_at = SystemClock().now()
    assert cli("import", "customers", str(tmp_path / "messy.csv")).exit_code == 0
    trail = cli("audit")
    assert trail.exit_code == 0, trail.output
    [line] = [line for line in trail.output.splitlines() if " imported " in line]
    local = imported_at.astimezone(ZoneInfo("America/New_York"))
    stamp = line.split("  ")[0]  # e.g. "2026-11-24 21:00:00 -05:00"
    printed = dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S %z")
    assert printed.utcoffset() == local.utcoffset(), line  # labelled with the team's offset, not a bare UTC time
    assert abs(printed - imported_at) < dt.timedelta(minutes=2), (line, imported_at)
    assert "America/New_York" in trail.output  # and the zone named
    as_json = json.loads(cli("audit", "--json").output.splitlines()[-1])
    assert dt.datetime.fromisoformat(as_json["at"]).utcoffset() is not None
