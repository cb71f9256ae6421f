"""Automation rules: matching, the config's checks, and `omnitui rules test`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from omnitui import config
from omnitui.config import ConfigError
from omnitui.domain.rules import Event, duration, evaluate, make_rule

README = Path(__file__).resolve().parent.parent / "README.md"


def message(text: str, **values: object) -> Event:
    return Event(kind="message", text=text, **values)  # type: ignore[arg-type]


def test_text_matches_folded_substrings_in_text_or_subject() -> None:
    rules = [make_rule(name="cancel", on="message", text=["キャンセル", "stop"], tag="c")]
    assert [f.rule for f in evaluate(rules, message("注文をｷｬﾝｾﾙしたいです"))] == ["cancel"]
    assert evaluate(rules, message("ＳＴＯＰ please"))
    assert evaluate(rules, message("Stop"))
    assert evaluate(rules, Event(kind="message", text="hello", subject="キャンセル"))
    assert not evaluate(rules, message("こんにちは"))
    # half-width rule words match full-width messages too
    half = [make_rule(name="h", on="message", text="ｷｬﾝｾﾙ", tag="c")]
    assert evaluate(half, message("キャンセル"))


def test_exact_is_the_whole_message_for_menus() -> None:
    rules = [make_rule(name="one", on="message", exact=["1"], reply="faq-shipping")]
    for text in ("1", "１", " 1\n", "１ "):
        assert [f.reply for f in evaluate(rules, message(text))] == ["faq-shipping"]
    for text in ("10", "1 and 2", "2"):
        assert not evaluate(rules, message(text))


def test_regex_groups_fill_set() -> None:
    rule = make_rule(
        name="order",
        on="message",
        regex=r"(注文番号|order)\s*#?(\d{6,})",
        set_={"order_id": "$2", "said": "$1"},
    )
    fired = evaluate([rule], message("注文番号 ＃１２３４５６７ の件"))
    assert fired[0].set == (("order_id", "1234567"), ("said", "注文番号"))
    assert evaluate([rule], message("ORDER 654321"))[0].set[0] == ("order_id", "654321")
    assert not evaluate([rule], message("order 12"))


def test_stop_and_order_and_other_conditions() -> None:
    rules = [
        make_rule(name="vip", on="message", tags=["vip"], tag="priority"),
        make_rule(name="handoff", on="message", text="担当者", handoff=True, stop=True),
        make_rule(name="later", on="message", tag="x"),
        make_rule(name="first", on="new_conversation", reply="menu"),
    ]
    fired = evaluate(rules, message("担当者をお願いします", tags=frozenset({"vip", "jp"})))
    assert [f.rule for f in fired] == ["vip", "handoff"]
    assert [f.rule for f in evaluate(rules, message("hi"))] == ["later"]
    assert [f.rule for f in evaluate(rules, Event(kind="new_conversation"))] == ["first"]
    telegram = [make_rule(name="t", on="message", channel="telegram", language="ja", tag="t")]
    assert evaluate(telegram, message("x", channel_kind="telegram", language="ja"))
    assert not evaluate(telegram, message("x", channel_kind="email", language="ja"))
    assert not evaluate(telegram, message("x", channel_kind="telegram", language="en"))
    csat = [make_rule(name="low", on="csat", rating=[1, 2], notify=True)]
    assert evaluate(csat, Event(kind="csat", rating=2))
    assert not evaluate(csat, Event(kind="csat", rating=5))


def test_hours_without_hours_config_counts_as_open() -> None:
    closed = [make_rule(name="closed", on="message", hours="closed", reply="closed")]
    opened = [make_rule(name="open", on="message", hours="open", tag="x")]
    assert not evaluate(closed, message("hi"))  # no [hours]: open
    assert evaluate(opened, message("hi"))
    assert evaluate(closed, message("hi", open=False))
    assert not evaluate(opened, message("hi", open=False))


def test_durations() -> None:
    assert duration("30m") == 1800
    assert duration("12h") == 43200
    assert duration("1h30m") == 5400
    assert duration("2d") == 172800
    for bad in ("", "30", "m", "0m", "30 minutes", "-1h"):
        assert duration(bad) is None


RULE = '[agent]\nname = "Aiko"\n\n[[rule]]\nname = "r"\non = "message"\n'


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ('[rule.if]\nregex = "(unclosed"\n[rule.then]\ntag = "x"\n', "line 8: rule[0].if.regex"),
        ('colour = "red"\n[rule.then]\ntag = "x"\n', "line 7: rule[0].colour"),
        ('[rule.if]\ntext = ["a"]\nwords = ["b"]\n', "line 9: rule[0].if.words"),
        ('[rule.then]\ntag = "x"\nsay = "hi"\n', "line 9: rule[0].then.say"),
        ('after = "30m"\n[rule.then]\ntag = "x"\n', "line 7: rule[0].after"),
        ('once_per = "soon"\n[rule.then]\ntag = "x"\n', "line 7: rule[0].once_per"),
        ('[rule.then]\nstatus = "closed"\n', "line 8: rule[0].then.status"),
        ("[rule.then]\n", "line 7: rule[0].then"),
        ("", "rule[0].then"),
        (
            '[rule.if]\nregex = "order (\\\\d+)"\n[rule.then]\nset = { id = "$3" }\n',
            "line 10: rule[0].then.set",
        ),
    ],
)
def test_config_errors_name_file_line_and_key(tmp_path: Path, body: str, where: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(RULE + body, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    assert str(caught.value).startswith(f"{path}, ")
    assert where in str(caught.value)


def test_unknown_event_and_no_reply_without_after(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(RULE.replace('"message"', '"arrival"') + '[rule.then]\ntag = "x"\n')
    with pytest.raises(ConfigError, match=r"line 6: rule\[0\]\.on"):
        config.load(path)
    path.write_text(RULE.replace('"message"', '"no_reply"') + "[rule.then]\nnotify = true\n")
    with pytest.raises(ConfigError, match=r"rule\[0\]\.after: on = \"no_reply\" needs after"):
        config.load(path)
    text = RULE + '[rule.then]\ntag = "x"\n\n[[rule]]\nname = "s"\non = "message"\n[rule.if]\n'
    path.write_text(text + 'regex = "["\n[rule.then]\nstop = true\n')
    with pytest.raises(ConfigError, match=r"line 14: rule\[1\]\.if\.regex: not a valid regex"):
        config.load(path)


def readme_config() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Automation rules") :]
    found = re.search(r"```toml\n(.*?)```", section, re.S)
    assert found is not None
    return found.group(1)


def test_the_readme_example_rules_parse_and_round_trip_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = tmp_path / "config.toml"
    path.write_text(readme_config(), encoding="utf-8")
    checked = config.load(path, cache=True)
    names = [r.name for r in checked.rule]
    assert len(names) == 7 and names[0] == "Hand-off word"
    assert checked.automation.max_auto_replies_per_day == 3
    assert list(tmp_path.joinpath("cache").rglob("*.json"))
    cached = config.load(path, cache=True)
    assert cached == checked
    assert cached.rules() == checked.rules()
    fired = evaluate(cached.rules(), message("返品したい 注文番号 1234567"))
    assert [f.rule for f in fired] == ["Returns go to support", "Order number"]
    assert fired[1].set == (("order_id", "1234567"),)


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omnitui.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        check=False,
    )


def test_rules_test_command_with_a_known_customer(tmp_path: Path) -> None:
    store = tmp_path / "omnitui.db"
    path = tmp_path / "config.toml"
    rules = (
        '\n[[rule]]\nname = "VIP returns"\non = "message"\n[rule.if]\ntext = "返品"\n'
        'tags = ["vip"]\nlanguage = "ja"\n[rule.then]\nassign = "Ken"\nreply = "nosuch"\n'
    )
    path.write_text(f'[store]\npath = "{store}"\n\n' + readme_config() + rules, encoding="utf-8")
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "LANG": "C.UTF-8"}
    unknown = run("--config", str(path), "rules", "test", "返品したい", env=env)
    assert unknown.returncode == 0, unknown.stderr
    assert not store.exists()  # the test changed nothing, not even made a store
    assert "Returns go to support (on message):" in unknown.stdout
    assert "  assign round robin: Ken, Aiko" in unknown.stdout
    assert "VIP returns" not in unknown.stdout.replace("rule VIP returns replies", "")

    customers = tmp_path / "customers.csv"
    customers.write_text(
        "name,language,email,tags\nHanako,ja,hanako@example.jp,vip;jp\n", encoding="utf-8"
    )
    imported = run("--config", str(path), "contacts", "import", str(customers), env=env)
    assert imported.returncode == 0, imported.stderr
    before = store.stat().st_mtime_ns, store.stat().st_size
    known = run(
        "--config", str(path), "rules", "test", "返品したい", "--from", "Hanako@Example.jp",
        env=env,
    )  # fmt: skip
    assert known.returncode == 0, known.stderr
    lines = known.stdout.splitlines()
    assert "customer: Hanako" in lines
    assert "Menu (on new_conversation):" in lines  # no open conversation yet
    assert "VIP returns (on message):" in lines
    assert "  assign to Ken" in lines
    assert "  reply with canned reply /nosuch" in lines
    assert any("rule VIP returns replies with /nosuch" in line for line in lines)
    assert (store.stat().st_mtime_ns, store.stat().st_size) == before

    ja = run("--config", str(path), "--language", "ja", "rules", "test", "こんにちは", env=env)
    assert ja.returncode == 0
    assert "Menu(new_conversation のとき):" in ja.stdout
    only = tmp_path / "only.toml"
    only.write_text(f'[store]\npath = "{store}"\n' + rules, encoding="utf-8")
    nothing = run("--config", str(only), "rules", "test", "hello", "--from", "+81 90", env=env)
    assert nothing.returncode == 0
    assert nothing.stdout.splitlines()[-2:] == ["customer: unknown (+81 90)", "no rule fires"]
    doctor = run("--config", str(path), "doctor", env=env)
    assert "ok    rule     Returns go to support (on message)" in doctor.stdout
    assert "FAIL  rule     VIP returns: /nosuch is no canned reply" in doctor.stdout


@pytest.mark.parametrize(
    ("days", "fires"),
    [
        ("", True),  # no period on any day: always closed
        (
            "".join(
                f'{d} = ["00:00-24:00"]\n'
                for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
            ),
            False,
        ),
    ],
)
def test_rules_test_asks_the_business_hours(tmp_path: Path, days: str, fires: bool) -> None:
    """`hours = "closed"` holds when [hours] says the shop is closed now, not otherwise."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'[store]\npath = "{tmp_path / "omnitui.db"}"\n\n[hours]\ntimezone = "Asia/Tokyo"\n{days}\n'
        '[[rule]]\nname = "After hours"\non = "message"\n[rule.if]\nhours = "closed"\n'
        "[rule.then]\nnotify = true\n",
        encoding="utf-8",
    )
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "LANG": "C.UTF-8"}
    done = run("--config", str(path), "rules", "test", "hello", env=env)
    assert done.returncode == 0, done.stderr
    assert ("After hours (on message):" in done.stdout) is fires, done.stdout


def test_doctor_names_a_placeholder_an_automatic_reply_may_not_fill() -> None:
    from omnitui.domain.models import CannedReply
    from omnitui.rules_commands import unfilled_placeholders

    ruleset = [
        make_rule(name="Order status", on="message", text="注文", reply="status"),
        make_rule(name="Hello", on="new_conversation", reply="hello"),
    ]
    replies = [
        CannedReply(
            1, "status", "", "{first_name}様、ご注文 {order_id} は発送済みです。{shop}", "ja"
        ),
        CannedReply(2, "status", "", "Order {order_id|} has shipped, {name}.", ""),
        CannedReply(3, "hello", "", "Hello {first_name}, this is {shop_phone}.", ""),
    ]
    found = unfilled_placeholders(ruleset, replies, {"shop": "Sakura", "shop_phone": "03"})
    # first_name is guessed from the name, shop values are configured, {order_id|} has a fallback
    assert found == [("Order status", "status", "order_id")]
