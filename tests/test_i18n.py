"""The console in Japanese: chosen by config, flag or locale, shown whole, laid out right."""

from __future__ import annotations

import ast
import contextvars
import string
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from omnitui import config
from omnitui.app import OmniApp
from omnitui.cli import build_parser
from omnitui.domain.models import Inbound, ThreadStatus
from omnitui.domain.views import View
from omnitui.i18n import active_language, locale_language, resolve_language, tr, use_language
from omnitui.locale_ja import JA
from omnitui.screens.help import HelpScreen
from omnitui.store import Store
from omnitui.widgets.format import status_label, view_label
from tests.test_console import MAIL, SMS, make_app, shop, wait_until
from tests.test_tmux import Terminal, demo_in_tmux

PACKAGE = Path(__file__).resolve().parents[1] / "omnitui"


def screen_lines(app: OmniApp) -> list[str]:
    """What the terminal shows, line by line (the app's own compositor, as drawn)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def screen_text(app: OmniApp) -> str:
    return "\n".join(screen_lines(app))


async def shows(pilot: Pilot[None], app: OmniApp, text: str) -> None:
    await wait_until(pilot, lambda: text in screen_text(app))


def in_language(language: str) -> contextvars.Context:
    """A context where `tr` answers in `language`; the test's own context stays English."""
    context = contextvars.copy_context()
    context.run(use_language, language)  # type: ignore[arg-type]
    return context


# -- choosing the language --------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "ja_JP.UTF-8"}, "ja"),
        ({"LANG": "C"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({}, "en"),
        ({"LC_ALL": "ja_JP.UTF-8", "LANG": "C"}, "ja"),
        ({"LC_ALL": "C", "LANG": "ja_JP.UTF-8"}, "en"),
        ({"LC_ALL": "", "LC_MESSAGES": "ja_JP.eucJP", "LANG": "en_GB.UTF-8"}, "ja"),
        ({"LC_MESSAGES": "", "LANG": "ja"}, "ja"),
    ],
)
def test_the_locale_picks_the_language(environ: dict[str, str], expected: str) -> None:
    assert locale_language(environ) == expected
    assert resolve_language(None, environ) == expected


def test_the_config_language_wins_over_the_locale(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[ui]\nlanguage = "ja"\n', encoding="utf-8")
    settings = config.load(path)
    assert settings.ui.language == "ja"
    assert resolve_language(settings.ui.language, {"LANG": "C"}) == "ja"
    assert resolve_language("en", {"LC_ALL": "ja_JP.UTF-8"}) == "en"


def test_a_console_without_a_language_follows_the_locale(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    assert make_app(store, None).language == "ja"
    assert make_app(store, "en").language == "en"
    monkeypatch.setenv("LANG", "C")
    assert make_app(store, None).language == "en"


def test_demo_and_console_take_a_language_flag() -> None:
    parser = build_parser()
    assert parser.parse_args(["demo", "--language", "ja"]).language == "ja"
    assert parser.parse_args(["--language", "ja", "demo"]).language == "ja"
    assert parser.parse_args(["demo"]).language is None
    assert parser.parse_args(["--language", "en"]).language == "en"
    with pytest.raises(SystemExit):
        parser.parse_args(["demo", "--language", "fr"])


def test_text_without_a_translation_stays_english() -> None:
    japanese = in_language("ja")
    assert japanese.run(tr, "Reply") == "返信"
    assert japanese.run(tr, "Something nobody translated") == "Something nobody translated"
    assert tr("Reply") == "Reply"  # this test's context was never switched
    # The stored values stay English; only what is shown is translated.
    assert japanese.run(status_label, ThreadStatus.RESOLVED) == "解決済み"
    assert str(ThreadStatus.RESOLVED) == "resolved"
    assert japanese.run(view_label, View.WAITING) == "返信待ち"
    assert View.WAITING.value == "Waiting"


# -- the catalogue stays complete -----------------------------------------------


def _english_in_source() -> dict[str, str]:
    """Every literal given to tr() or N_(), and every Binding description, with where it is."""
    found: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            texts: list[ast.expr] = []
            if name in ("tr", "N_") and node.args:
                texts.append(node.args[0])
            elif name == "Binding":
                texts += node.args[2:3]
                texts += [k.value for k in node.keywords if k.arg == "description"]
            for text in texts:
                if isinstance(text, ast.Constant) and isinstance(text.value, str) and text.value:
                    found.setdefault(
                        text.value, f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
                    )
    return found


def _fields(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def test_every_text_the_console_translates_has_a_japanese_entry() -> None:
    english = _english_in_source()
    assert len(english) > 100  # the scan finds the console's text
    missing = [f"{where}: {text!r}" for text, where in english.items() if text not in JA]
    assert not missing, "no Japanese for:\n" + "\n".join(missing)


def test_every_japanese_entry_keeps_the_named_fields() -> None:
    wrong = [key for key, japanese in JA.items() if _fields(key) != _fields(japanese)]
    assert not wrong, wrong


def test_every_view_and_status_has_a_japanese_name() -> None:
    japanese = in_language("ja")
    for view in View:
        label = japanese.run(view_label, view)
        assert label in JA.values() or label == view.value in ("Telegram", "SMS"), view
    for status in ThreadStatus:
        assert japanese.run(status_label, status) in JA.values(), status


async def test_the_command_palette_speaks_japanese(store: Store) -> None:
    await shop(store)
    app = make_app(store, "ja")
    async with app.run_test(size=(80, 24)):
        commands = in_language("ja").run(lambda: list(app.get_system_commands(app.screen)))
    titles = [c.title for c in commands]
    assert "返信" in titles and "テーマ" in titles and "キー操作" in titles
    untranslated = [c for c in commands if c.title not in JA.values() or c.help not in JA.values()]
    assert not untranslated, untranslated


# -- what the agent sees -------------------------------------------------------------


async def test_a_japanese_console_at_80x24(store: Store) -> None:
    await shop(store)
    app = make_app(store, "ja")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await shows(pilot, app, "顧客 · すべて 3")
        footer = screen_lines(app)[-1]
        for words in ("r 返信", "c 定型文", "/ 検索", "e 解決", "z スヌーズ", "? ヘルプ", "q 終了"):
            assert words in footer, footer
        assert "Reply" not in footer and "Quit" not in footer
        assert "v ビュー" in screen_text(app)
        # Emma (top of the list) is open: her status and the composer in Japanese.
        await shows(pilot, app, "Emma  対応中")
        await shows(pilot, app, "返信先 S SMS")

        await pilot.press("v")
        await shows(pilot, app, "顧客 · 自分の担当 0")
        await pilot.press("V")
        await shows(pilot, app, "返信待ち")
        assert "未割り当て" in screen_text(app) and "解決済み" in screen_text(app)
        await pilot.press("home", "enter")
        await shows(pilot, app, "顧客 · すべて 3")

        await pilot.press("e")
        await wait_until(
            pilot, lambda: any(n.message == "Emma: 解決済み" for n in app._notifications)
        )
        await shows(pilot, app, "Emma  解決済み")
        await shows(pilot, app, "Emma: 解決済み")  # the toast

        await pilot.press("r")
        await pilot.press(*"こんにちは")
        await shows(pilot, app, "UCS-2")
        # At 80 columns the count and the warning stay in view; the account is cut first.
        assert "1 SMS · UCS-2 5/70  ⚠ 原因: こんに" in screen_text(app)
        await pilot.press("escape")

        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await shows(pilot, app, "OmniTUI のキー操作")
        help_text = screen_text(app)
        for words in ("場所", "キー", "操作", "受信箱", "返信", "解決", "スヌーズ"):
            assert words in help_text
        assert "Resolve" not in help_text and "Reply" not in help_text
        # Nothing is wider than the terminal: no wide character spills or is cut in half.
        assert all(strip.cell_length == 80 for strip in app.screen._compositor.render_strips())
        await pilot.press("escape")

        await pilot.press("slash")
        await shows(pilot, app, "メッセージと顧客を検索")
        await pilot.press(*"予約")
        await shows(pilot, app, " 件のメッセージ (")
        await pilot.press("escape")
        await pilot.press("z")
        await shows(pilot, app, "スヌーズの終了時刻")
        assert "明日 9:00" in screen_text(app)
        await pilot.press("escape")
        # The language was the console's own: this test's context is still English.
        assert active_language() == "en"


async def test_possible_duplicates_give_their_evidence_in_japanese(store: Store) -> None:
    now = time.time()
    await store.ingest(
        [
            Inbound(MAIL, "d1", "misaki@example.jp", "田中 美咲", "予約の件です", now - 50),
            Inbound(SMS, "d2", "+819011112222", "田中美咲", "明日行きます", now - 40),
        ]
    )
    app = make_app(store, "ja")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("D")
        await shows(pilot, app, "名前が似ています: ")
        assert "names read alike" not in screen_text(app)
    # What the merge record keeps stays English, whatever the console's language.
    (suggestion,) = await store.duplicate_suggestions()
    assert suggestion.evidence.startswith("names read alike: ")


async def test_an_english_console_in_the_same_process_stays_english(store: Store) -> None:
    await shop(store)
    for language, reply, customers in (
        ("ja", "r 返信", "顧客 · すべて"),
        ("en", "r Reply", "Customers · All"),
    ):
        app = make_app(store, language)
        async with app.run_test(size=(120, 40)) as pilot:
            await shows(pilot, app, customers)
            assert reply in screen_lines(app)[-1]
            await pilot.press("question_mark")
            await shows(pilot, app, "OmniTUI keys" if language == "en" else "OmniTUI のキー操作")
            assert all(strip.cell_length == 120 for strip in app.screen._compositor.render_strips())


# -- the real binary in a real terminal ----------------------------------------------


@pytest.fixture
def japanese_terminal(tmp_path: Path) -> Iterator[tuple[Terminal, Path]]:
    # An English locale (LANG=C.UTF-8): the flag decides.
    with demo_in_tmux(tmp_path, "--language", "ja", "--interval", "30", size=(80, 24)) as opened:
        yield opened


@pytest.mark.tmux
def test_the_demo_in_japanese_at_80x24(japanese_terminal: tuple[Terminal, Path]) -> None:
    term, done = japanese_terminal
    screen = term.wait_for("顧客 · すべて")
    assert "r 返信" in screen and "/ 検索" in screen and "q 終了" in screen
    assert "v ビュー" in screen
    assert "Customers" not in screen and "Reply" not in screen
    term.keys("Enter")
    screen = term.wait_for("返信先")
    assert any(label in screen for label in ("対応中", "保留中", "解決済み", "スヌーズ中"))
    term.keys("?")
    screen = term.wait_for("OmniTUI のキー操作")
    assert "受信箱" in screen and "解決" in screen
    lines = screen.splitlines()
    assert len(lines) <= 24
    term.keys("Escape")
    time.sleep(0.3)
    term.keys("Escape")
    time.sleep(0.3)
    term.keys("q")
    deadline = time.monotonic() + 10
    while not done.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert done.read_text().strip() == "0"
