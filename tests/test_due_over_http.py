"""/care due, help and registration, over signed HTTP against the running bot."""

from __future__ import annotations

import datetime as dt

import pytest

from tests import seed
from tests.conftest import DEFAULT_NOW


def texts(payload: dict) -> str:
    """Every text a person sees in a message payload."""
    out = [payload.get("text", "")]
    for block in payload.get("blocks", []):
        for part in (block.get("text"), *(block.get("elements") or [])):
            if isinstance(part, dict):
                out.append(part.get("text", "") if isinstance(part.get("text"), str) else "")
    return "\n".join(out)


def test_due_lists_overdue_first_with_masked_phone_and_a_log_button(bot, team):
    slack = bot.slack
    slack.add_user("U0AGENT", locale="en-US")
    late = seed.customer(team, "A001", "Alice Wang", phone="+8613812345678")
    today = seed.customer(team, "B002", "Bob Li", phone="+8613900001111")
    later = seed.customer(team, "C003", "Carol Xu")
    seed.callback(team, today, DEFAULT_NOW + dt.timedelta(hours=3), kind="survey")
    seed.callback(team, late, DEFAULT_NOW - dt.timedelta(days=3), kind="first_use")
    seed.callback(team, later, DEFAULT_NOW + dt.timedelta(days=1))

    reply = bot.command("due", user_id="U0AGENT")

    assert reply.status == 200
    [response] = bot.responses("cmd")
    assert response["response_type"] == "ephemeral"
    shown = texts(response)
    assert shown.index("Alice Wang") < shown.index("Bob Li"), "the overdue callback comes first"
    assert "Carol Xu" not in shown, "tomorrow's callback is not due yet"
    assert "138****5678" in shown and "13812345678" not in shown
    assert "3 day(s) late" in shown
    buttons = [b["accessory"] for b in response["blocks"] if b.get("accessory", {}).get("action_id") == "log_call"]
    assert len(buttons) == 2


def test_due_empty_state_is_friendly(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    bot.command("due", user_id="U0AGENT")
    [response] = bot.responses("cmd")
    assert "Nothing due today" in texts(response)


def test_due_in_chinese_for_a_chinese_slack_user(bot, team):
    bot.slack.add_user("U0AGENT", locale="zh-CN")
    cid = seed.customer(team, "2024001", "张女士")
    seed.callback(team, cid, DEFAULT_NOW - dt.timedelta(days=1), kind="birthday")
    bot.command("", user_id="U0AGENT")
    [response] = bot.responses("cmd")
    shown = texts(response)
    assert "我的回访清单" in shown and "生日祝福" in shown and "逾期 1 天" in shown


def test_long_queue_pages_instead_of_failing(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    for n in range(45):
        cid = seed.customer(team, f"K{n:03d}", f"Customer {n:03d}")
        seed.callback(team, cid, DEFAULT_NOW - dt.timedelta(minutes=n + 1))
    bot.command("due", user_id="U0AGENT")
    [first] = bot.responses("cmd")
    assert len(first["blocks"]) <= 50
    more = [e for b in first["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert more and more[0]["action_id"] == "due_show_more"
    assert "Showing 1–20 of 45" in texts(first)

    url = bot.slack.response_url("more")
    reply = bot.sender.block_action(user_id="U0AGENT", action_id="due_show_more", value=more[0]["value"],
                                    trigger_id=bot.slack.new_trigger_id(), response_url=url)
    assert reply.status == 200
    [second] = bot.responses("more")
    assert second["replace_original"] is True
    assert "Showing 21–40 of 45" in texts(second)


def test_unregistered_person_is_told_to_ask_an_admin_and_sees_no_customers(bot, team):
    seed.callback(team, seed.customer(team, "A001", "Alice Wang"), DEFAULT_NOW - dt.timedelta(days=1))
    bot.slack.add_user("U0STRANGER", locale="en-US")
    bot.command("due", user_id="U0STRANGER")
    [response] = bot.responses("cmd")
    shown = texts(response)
    assert "ask your Carebot admin" in shown or "管理员" in shown
    assert "Alice" not in shown


def test_help_and_unknown_subcommand(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    bot.command("help", user_id="U0AGENT")
    bot.responses("cmd", 1)
    bot.command("frobnicate", user_id="U0AGENT")
    help_text, unknown = (texts(r) for r in bot.responses("cmd", 2))
    assert "/care due" in help_text and "/care log" in help_text
    assert "I don't know `frobnicate`" in unknown and "/care due" in unknown


def test_admin_registers_a_colleague_but_an_agent_cannot(bot, team):
    bot.slack.add_user("U0ADMIN", locale="en-US")
    bot.slack.add_user("U0AGENT", locale="en-US")
    bot.command("staff add <@U0NEWBIE|newbie> supervisor", user_id="U0ADMIN")
    bot.responses("cmd", 1)
    bot.command("staff add <@U0OTHER> agent", user_id="U0AGENT")
    added, refused = (texts(r) for r in bot.responses("cmd", 2))
    assert "<@U0NEWBIE> is registered as supervisor" in added
    assert "Only Carebot admins" in refused
    from bot.services.people import SlackProfile, actor_for

    assert actor_for(team, "U0NEWBIE", lambda _: SlackProfile("en-US", None)).role.value == "supervisor"
    import pytest

    from bot.services.errors import NotRegistered
    with pytest.raises(NotRegistered):
        actor_for(team, "U0OTHER", lambda _: None)


def test_customer_named_channel_never_pings(bot, team):
    bot.slack.add_user("U0AGENT", locale="en-US")
    cid = seed.customer(team, "X666", "<!channel> & <@U0SUPER>")
    seed.callback(team, cid, DEFAULT_NOW - dt.timedelta(hours=1))
    bot.command("due", user_id="U0AGENT")
    [response] = bot.responses("cmd")
    raw = str(response)
    assert "<!channel>" not in raw and "<@U0SUPER>" not in raw
    assert "&lt;!channel&gt; &amp; &lt;@U0SUPER&gt;" in texts(response)


def test_an_admin_cannot_take_a_person_from_another_team(bot, team):
    """One team's admin registering another team's admin must not move them (that team would lose its admin, and
    the person would see this team's book): refused in the admin's language, the person stays where they were.
    The operator moves people on purpose with `carebot staff add … --move`."""
    from bot.services.people import Role, add_staff, staff_list

    add_staff(team, "U0ELSEADM", Role.ADMIN, team_id="other")
    bot.slack.add_user("U0ADMIN", locale="zh-CN")
    bot.command("staff add <@U0ELSEADM> agent", user_id="U0ADMIN")
    [refused] = (texts(r) for r in bot.responses("cmd", 1))
    assert "`U0ELSEADM` 已登记在另一个团队" in refused and "--move" in refused
    assert [(s.user_id, s.role) for s in staff_list(team, "other")] == [("U0ELSEADM", "admin")]
    assert "U0ELSEADM" not in {s.user_id for s in staff_list(team)}
    from bot.services.errors import CareError

    with pytest.raises(CareError):  # even on purpose, not the other team's only admin
        add_staff(team, "U0ELSEADM", Role.AGENT, team_id="default", move=True)
    add_staff(team, "U0ELSEADM2", Role.ADMIN, team_id="other")
    add_staff(team, "U0ELSEADM", Role.AGENT, team_id="default", move=True)
    assert [s.user_id for s in staff_list(team, "other")] == ["U0ELSEADM2"]
    assert "U0ELSEADM" in {s.user_id for s in staff_list(team)}


def test_an_unknown_segment_is_answered_with_every_segment_there_is(bot, team):
    """`/care due 火星`: the person's word is echoed (cut when long), the segments they may type are listed whole."""
    from bot.services.queue import SEGMENT_WORDS

    bot.slack.add_user("U0AGENT", locale="en-US")
    bot.command("due 火星", user_id="U0AGENT")
    [answer] = (texts(r) for r in bot.responses("cmd", 1))
    assert "`火星` is not a segment" in answer
    assert all(word in answer for word in SEGMENT_WORDS if word.isascii()) and "…" not in answer, answer


def test_a_person_moved_to_another_team_no_longer_sees_the_old_teams_book(bot, team):
    """`carebot staff add U… --move`: the queue is the current team's book only, never the callbacks and
    complaints still assigned to them in the team they left (the final tryout saw OT1 'Olga Other' in /care due)."""
    from bot.services.people import Role, add_staff
    from storage.models import Customer

    add_staff(team, "U0MOVER", Role.AGENT, team_id="other")
    with team.db.unit_of_work() as session:
        olga_row = session.get(Customer, seed.customer(team, "OT1", "Olga Other", owner="U0MOVER"))
        olga_row.team_id = "other"
        olga = olga_row.id
    with team.db.unit_of_work() as session:
        from storage.models import Callback
        session.add(Callback(team_id="other", customer_id=olga, owner_id="U0MOVER", kind="first_use",
                             due_at=DEFAULT_NOW - dt.timedelta(days=1), rule="manual", params={},
                             created_at=DEFAULT_NOW))
    complaint = seed.complaint(team, olga, DEFAULT_NOW - dt.timedelta(hours=30), DEFAULT_NOW - dt.timedelta(hours=6),
                               owner="U0MOVER")
    with team.db.unit_of_work() as session:
        from storage.models import Complaint
        session.get(Complaint, complaint).team_id = "other"
    add_staff(team, "U0MOVER", Role.AGENT, team_id="default", move=True)
    bot.slack.add_user("U0MOVER", locale="en-US")
    bot.command("due", user_id="U0MOVER")
    [answer] = (texts(r) for r in bot.responses("cmd", 1))
    assert "Olga" not in answer and "OT1" not in answer and "Nothing due" in answer, answer


def test_a_teams_only_admin_cannot_demote_themselves(bot, team):
    """The final tryout's admin made themselves an agent and the team had no admin left to register anyone: the
    last admin keeps the role until another admin is registered (told in their language); then it may change."""
    from bot.services.people import Role, add_staff, staff_list

    bot.slack.add_user("U0ADMIN", locale="zh-CN")
    bot.command("staff add <@U0ADMIN> agent", user_id="U0ADMIN")
    [refused] = (texts(r) for r in bot.responses("cmd", 1))
    assert "`U0ADMIN` 是该团队唯一的管理员" in refused
    assert ("U0ADMIN", "admin") in {(s.user_id, s.role) for s in staff_list(team)}
    add_staff(team, "U0ADMIN2", Role.ADMIN)
    bot.command("staff add <@U0ADMIN> agent", user_id="U0ADMIN")
    bot.responses("cmd", 2)  # answered once saved
    assert ("U0ADMIN", "agent") in {(s.user_id, s.role) for s in staff_list(team)}
