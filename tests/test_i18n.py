"""The console in Japanese: chosen by config, flag or locale, shown whole, laid out right."""

from __future__ import annotations

import ast
import contextvars
import re
import shutil
import string
import tempfile
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.pilot import Pilot

from omnitui import config
from omnitui.app import OmniApp
from omnitui.cli import build_parser
from omnitui.domain.models import (
    Channel,
    ChannelKind,
    Inbound,
    InboundAttachment,
    ThreadStatus,
)
from omnitui.domain.views import View
from omnitui.errors import OmniError
from omnitui.i18n import active_language, locale_language, resolve_language, tr, use_language
from omnitui.locale_ja import JA
from omnitui.screens.help import HelpScreen
from omnitui.screens.inbox import InboxScreen
from omnitui.screens.inbox_commands import inbox_commands
from omnitui.store import ProfileFields, Store
from omnitui.widgets.format import status_label, view_label
from tests.test_console import MAIL, SMS, make_app, shop
from tests.test_tmux import Terminal, demo_in_tmux
from tests.waiting import wait_until, wait_until_sync

PACKAGE = Path(__file__).resolve().parents[1] / "omnitui"


def screen_lines(app: OmniApp) -> list[str]:
    """What the terminal shows, line by line (the app's own compositor, as drawn)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def screen_text(app: OmniApp) -> str:
    return "\n".join(screen_lines(app))


async def shows(pilot: Pilot[None], app: OmniApp, text: str) -> None:
    await wait_until(lambda: text in screen_text(app), pilot=pilot)


def toasted(app: OmniApp) -> bool:
    """A toast is up."""
    return bool(app._notifications)


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
    assert japanese.run(status_label, ThreadStatus.RESOLVED) == "対応済み"
    assert str(ThreadStatus.RESOLVED) == "resolved"
    assert japanese.run(view_label, View.WAITING) == "返信待ち"
    assert View.WAITING.value == "Waiting"


# -- the catalogue stays complete -----------------------------------------------


def _error_names() -> set[str]:
    """The names of every error a user can see: OmniError and all its subclasses."""
    import importlib
    import pkgutil

    import omnitui

    for module in pkgutil.walk_packages(omnitui.__path__, "omnitui."):
        importlib.import_module(module.name)
    names: set[str] = set()
    todo: list[type] = [OmniError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo += cls.__subclasses__()
    return names


def _english_in_source() -> dict[str, str]:
    """Every literal given to tr() or N_(), every error template and every Binding
    description, with where it is."""
    errors = _error_names()
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
            elif name in errors:
                texts += node.args  # the template, and ConfigError's problem after its path
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
        assert label in JA.values() or label == view.value in ("Telegram", "SMS", "LINE"), view
    for status in ThreadStatus:
        assert japanese.run(status_label, status) in JA.values(), status


async def test_the_command_palette_speaks_japanese(store: Store) -> None:
    await shop(store)
    app = make_app(store, "ja")
    async with app.run_test(size=(80, 24)):
        inbox = app.screen
        assert isinstance(inbox, InboxScreen)
        # Textual's own commands come from the app, the inbox's from its COMMANDS.
        commands = in_language("ja").run(
            lambda: [*app.get_system_commands(app.screen), *inbox_commands(inbox)]
        )
    titles = [c.title for c in commands]
    assert "返信" in titles and "テーマ" in titles and "キー操作" in titles
    untranslated = [c for c in commands if c.title not in JA.values() or c.help not in JA.values()]
    assert not untranslated, untranslated


# -- what the agent sees -------------------------------------------------------------


async def test_a_japanese_console_at_80x24(store: Store) -> None:
    await shop(store)
    app = make_app(store, "ja")
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await shows(pilot, app, "お客様 · すべて 3")
        footer = screen_lines(app)[-1]
        for words in (
            "r 返信",
            "c 定型文",
            "/ 検索",
            "e 対応済み",
            "z スヌーズ",
            "? ヘルプ",
            "q 終了",
        ):
            assert words in footer, footer
        assert "Reply" not in footer and "Quit" not in footer
        assert "v 絞り込み" in screen_text(app)
        # Emma (top of the list) is open: her status and the composer in Japanese.
        await shows(pilot, app, "Emma  対応中")
        await shows(pilot, app, "返信先 ☏ SMS")

        await pilot.press("v")
        await shows(pilot, app, "─ 自分の担当 0 ─")  # at 80 columns, the view and its count
        await pilot.press("V")
        await shows(pilot, app, "返信待ち")
        assert "担当なし" in screen_text(app) and "対応済み" in screen_text(app)
        await pilot.press("home", "enter")
        await shows(pilot, app, "お客様 · すべて 3")

        await pilot.press("e")
        await wait_until(
            lambda: any(n.message == "Emma: 対応済み" for n in app._notifications), pilot=pilot
        )
        await shows(pilot, app, "Emma  対応済み")
        await shows(pilot, app, "Emma: 対応済み")  # the toast

        await pilot.press("r")
        await pilot.press(*"こんにちは")
        await shows(pilot, app, "全角")
        # At 80 columns the count and the warning stay in view; the account is cut first.
        assert "返信先 ☏ SMS  1通 · 全角 5/70字  ⚠ 全角: こんに" in screen_text(app)
        await pilot.press("escape")

        await pilot.press("question_mark")
        await wait_until(lambda: isinstance(app.screen, HelpScreen), pilot=pilot)
        await shows(pilot, app, "OmniTUI のキー操作")
        help_text = screen_text(app)
        for words in ("場所", "キー", "操作", "受信箱", "返信", "対応済み", "スヌーズ"):
            assert words in help_text
        assert "Resolve" not in help_text and "Reply" not in help_text
        # That nothing is wider than the terminal (no wide character spills or
        # is cut in half) is pinned by the picture: test_snapshots.py::test_help.
        await pilot.press("escape")

        await pilot.press("slash")
        await shows(pilot, app, "メッセージとお客様を検索")
        await pilot.press(*"予約")
        await shows(pilot, app, " 件 (")
        await pilot.press("escape")
        await pilot.press("z")
        await shows(pilot, app, "いつまでスヌーズしますか")
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
        ("ja", "r 返信", "お客様 · すべて"),
        ("en", "r Reply", "Customers · All"),
    ):
        app = make_app(store, language)
        async with app.run_test(size=(120, 40)) as pilot:
            await shows(pilot, app, customers)
            assert reply in screen_lines(app)[-1]
            await pilot.press("question_mark")
            await shows(pilot, app, "OmniTUI keys" if language == "en" else "OmniTUI のキー操作")
            # Its layout at 120 columns, in each language: test_snapshots.py::test_help.


# -- the real binary in a real terminal ----------------------------------------------


@pytest.fixture(params=[(80, 24), (120, 40)], ids=["80x24", "120x40"])
def japanese_terminal(
    tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Terminal, Path]]:
    # An English locale (LANG=C.UTF-8): the flag decides.
    size: tuple[int, int] = request.param
    with demo_in_tmux(tmp_path, "--language", "ja", "--interval", "30", size=size) as opened:
        yield opened


@pytest.mark.tmux
def test_the_demo_in_japanese(japanese_terminal: tuple[Terminal, Path]) -> None:
    term, done = japanese_terminal
    shown = [""]

    def drawn() -> bool:  # a busy machine can show half a frame: wait for its last line too
        shown[0] = term.screen()
        return "お客様 · すべて" in shown[0] and "^p メニュー" in shown[0]

    wait_until_sync(drawn, 20, lambda: f"the console was not drawn; the screen was:\n{shown[0]}")
    screen = shown[0]
    assert "✉" in screen and "^p メニュー" in screen
    assert "r 返信" in screen and "/ 検索" in screen and "q 終了" in screen
    assert "v 絞り込み" in screen
    assert "Customers" not in screen and "Reply" not in screen
    term.keys("C-p")
    palette = term.wait_for("操作を検索…")  # Textual's palette, in Japanese
    assert "Search for commands" not in palette
    term.keys("Escape")
    time.sleep(0.3)
    term.keys("C-c")
    term.wait_for("終了するには q を押します")
    term.keys("Enter")
    screen = term.wait_for("返信先")
    assert any(label in screen for label in ("対応中", "保留中", "対応済み", "スヌーズ中"))
    term.keys("?")
    term.wait_for("OmniTUI のキー操作")
    screen = term.wait_for("受信箱")  # the table, drawn after the title on a busy machine
    assert "対応済み" in screen
    lines = screen.splitlines()
    assert len(lines) <= 40
    for _ in range(8):  # to the end of the table, where the marks are explained
        term.keys("PageDown")
        time.sleep(0.15)
    term.wait_for("連絡手段の印: ✉ メール · ✈ Telegram · ☏ SMS")
    term.keys("Escape")  # the help closes (a busy machine may take a while to draw it)
    wait_until_sync(lambda: "連絡手段の印" not in term.screen(), 10, term.screen)
    term.keys("Escape")  # out of the composer
    time.sleep(0.3)
    term.keys("q")
    wait_until_sync(done.exists, 10, term.screen)
    assert done.read_text().strip() == "0"


# -- a Japanese shop's first session: every screen, no English left -----------------

TELEGRAM = Channel(ChannelKind.TELEGRAM, "shop-bot")
JA_CANNED = [
    ("thanks", "お礼", "{name|お客様}様、ご連絡ありがとうございます。{shop}の{agent}です。", "ja"),
    ("ready", "ご用意できました", "{name}様、ご注文{order_id}のご用意ができました。", "ja"),
]

# ASCII a Japanese shop owner does read: names of things (OmniTUI, SMS, Telegram,
# Twilio, PDF, QR), units, keys on the keyboard, what a customer texts (STOP, START),
# language codes, and what the shop itself named (its accounts, agent, shortcuts).
ALLOWED = {
    *("OmniTUI", "SMS", "Telegram", "LINE", "Twilio", "PDF", "MB", "KB", "ID", "QR"),
    *("enter", "esc", "tab", "shift", "ctrl", "space", "home", "end", "up", "down"),
    *("STOP", "START", "ja", "en", "Re"),
    *("Cc", "Bcc"),  # mail headers, named so in Japanese mail apps too
    *("shop", "mail", "sms", "bot", "Aiko", "thanks", "ready"),
}
NOT_WORDS = re.compile(
    r"[\w.+-]+@[\w.-]+"  # email addresses
    r"|https?://\S+"  # links
    r"|(?<![\w])(?:~|/tmp|/home|/root)\S*"  # paths (where files were saved)
    r"|\$\w+|export \w+=\w+"  # an editor's variables, as typed in a shell
    r"|\^[A-Za-z]"  # ^T, ^p: keys
    r"|/[a-z]+\b"  # /thanks: a canned reply's shortcut
    r"|\{[\w|]+\}|\border_id\b"  # a canned reply's placeholders, named by the shop
    r"|\.[a-z]{2,4}\b"  # a file's extension (ブーケ.jpg)
    r"|\[keymap\]|\b[a-z_]+\.[a-z_]+\b"  # config.toml's keymap ids, as the shop types them
)
ASCII_WORD = re.compile(r"[A-Za-z]{2,}")


def english_words(lines: list[str]) -> set[str]:
    """Words in ASCII letters that are not on the allow-list."""
    found: set[str] = set()
    for line in lines:
        for word in ASCII_WORD.findall(NOT_WORDS.sub(" ", line)):
            # A toast or a dialog drawn over a pane may cut a word: SM|S.
            if not any(word in allowed for allowed in ALLOWED):
                found.add(word)
    return found


async def japanese_shop(store: Store) -> dict[str, int]:
    """A Japanese flower shop's customers, every one of them writing Japanese.

    山田 花子 (mail and SMS, tagged 常連) wrote last, with a photo; 田中 美咲
    has a reply that failed; 佐藤 健太 is snoozed; 田中美咲 by mail may be the
    same person as 田中 美咲.
    """
    now = time.time()
    await store.add_canned_replies(JA_CANNED)
    photo = InboundAttachment("ブーケ.jpg", "image/jpeg", b"\xff\xd8" + b"0" * 2000, 2002)
    raw = "Subject: =?UTF-8?B?5LqI57SE?=\r\n\r\n予約の件です。\r\n".encode()
    items = [
        Inbound(
            SMS, "s1", "+819011112222", "田中 美咲", "明日の予約を確認したいです。", now - 9000
        ),
        Inbound(TELEGRAM, "t1", "500001", "佐藤 健太", "ラッピングを変更できますか？", now - 8000),
        Inbound(
            MAIL,
            "m2",
            "misaki.t@example.jp",
            "田中美咲",
            "予約の件です。",
            now - 4000,
            subject="予約",
            raw=raw,
        ),
        Inbound(
            SMS, "s2", "+819033334444", "山田 花子", "母の日の花束をお願いします。", now - 3 * 86400
        ),
    ]
    await store.ingest(items)
    ids = {s.name: s.id for s in await store.list_contacts(limit=10)}
    hanako, misaki, kenta = ids["山田 花子"], ids["田中 美咲"], ids["佐藤 健太"]
    await store.update_contact(hanako, tags=["常連"])
    await store.set_profiles({hanako: ProfileFields("花子", "ja", {"注文番号": "1203"})})
    failed = await store.enqueue_reply(misaki, SMS, "ご予約を承りました。", author="Aiko")
    await store.mark_failed(
        failed, "Twilio refused it: invalid To number (Twilio error 21211)", retry_at=None
    )
    await store.set_status(kenta, ThreadStatus.SNOOZED, now + 3 * 3600)
    latest = Inbound(
        MAIL,
        "m1",
        "hanako@example.jp",
        "山田 花子",
        "写真のようなブーケはできますか？",
        time.time(),
        subject="ブーケのご相談",
        attachments=(photo,),
    )
    await store.ingest([latest])  # the newest: she is at the top of the list
    for contact_id in ids.values():
        await store.mark_read(contact_id)
    return {"hanako": hanako, "misaki": misaki, "kenta": kenta}


# Every key of README's key table, in the order a newcomer might try them, as
# (keys, what to wait for before reading the screen). The contact list has
# the focus at first.
WALK: list[tuple[tuple[str, ...], str]] = [
    ((), "お客様 · すべて"),
    (("question_mark",), "OmniTUI のキー操作"),
    (("pagedown",), ""),
    (("pagedown",), ""),
    (("end",), "連絡手段の印"),
    (("escape",), "お客様 · すべて"),
    (("v",), "自分の担当"),
    (("v",), "担当なし"),
    (("V",), "返信待ち"),
    (("home", "enter"), "お客様 · すべて"),
    (("D",), "同じお客様の候補"),
    (("escape",), ""),
    (("W",), "返信待ちのお客様"),
    (("escape",), ""),
    (("p",), "お客様情報 · 山田 花子"),
    (("escape",), ""),
    (("t",), "タグ · 山田 花子"),
    (("escape",), ""),
    (("slash",), "メッセージとお客様を検索"),
    (("予", "約"), " 件 ("),
    (("escape",), ""),
    (("z",), "いつまでスヌーズしますか"),
    (("escape",), ""),
    (("m",), "にまとめるお客様を選ぶ"),
    (("enter",), "こちらに移るもの"),
    (("escape",), ""),
    (("A",), "Aiko の担当にしました"),
    (("A",), "担当なし"),
    (("u",), "元に戻せるまとめはありません"),
    (("ctrl+p",), "操作を検索"),
    (("あ", "い", "う"), "見つかりません"),
    (("escape",), ""),
    (("enter",), "ブーケのご相談"),
    (("a",), "に保存しました"),
    (("v",), "このメッセージには原文がありません"),
    (("R",), "送り直せるのは"),
    (("r",), "返信先"),
    (("ctrl+t",), "返信先"),
    (("ctrl+o",), "返信にファイルを添付"),
    (("escape",), ""),
    (("ctrl+r",), "定型文"),
    (("r", "e", "a", "d", "y"), "ご用意できました"),
    (("enter",), "に必要な値"),
    (("escape",), "未入力"),
    (("ctrl+s",), "送信していません"),
    (("ctrl+e",), "エディタを設定してください"),
    (("escape",), ""),
    (("escape",), ""),
    (("e",), "山田 花子: 対応済み"),
    (("o",), "山田 花子: 対応中"),
    (("n",), ""),
    (("slash",), "メッセージとお客様を検索"),
    (("田", "中"), " 人 ("),  # customers are counted as people
    (("enter",), ""),
    (("slash",), "メッセージとお客様を検索"),
    (("佐", "藤"), " 人 ("),
    (("enter",), "スヌーズ中 ("),
    (("slash",), "メッセージとお客様を検索"),
    (("承", "り"), " 件 ("),
    (("enter",), "宛先の電話番号が正しくありません"),  # the failed reply, found and shown
    (("ctrl+c",), "終了しますか"),
]


def said(app: OmniApp, text: str) -> bool:
    """Is `text` on the screen, or in a toast (which may wrap it)?"""
    return text in screen_text(app) or any(
        text in n.message or text in n.title for n in app._notifications
    )


async def walk_every_screen(
    store: Store, size: tuple[int, int], downloads: Path
) -> tuple[list[str], OmniApp]:
    """Walk WALK in a Japanese console of `size`; every line it showed."""
    await japanese_shop(store)
    app = OmniApp(
        store,
        agent_name="Aiko",
        shop_values={"shop": "さくら花店"},
        channels=[MAIL, SMS, TELEGRAM],
        poll_changes=0.05,
        language="ja",
        undo_send=5,
        downloads=downloads,
    )
    seen: list[str] = []
    async with app.run_test(size=size, notifications=True) as pilot:
        for keys, expected in WALK:
            await pilot.press(*keys)
            if expected:
                try:
                    await wait_until(partial(said, app, expected), pilot=pilot)
                except AssertionError:
                    raise AssertionError(
                        f"after {keys}, {expected!r} never showed:\n{screen_text(app)}"
                    ) from None
            await pilot.pause(0.05)
            lines = screen_lines(app)
            assert all(cell_len(line) == size[0] for line in lines), (keys, lines)
            seen.extend(lines)
    return seen, app


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_a_first_session_in_japanese_has_no_english_left(
    store: Store, size: tuple[int, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EDITOR", raising=False)
    monkeypatch.delenv("VISUAL", raising=False)
    # A short folder: the toast that names it must not wrap it into pieces.
    downloads = Path(tempfile.mkdtemp(prefix="保存", dir="/tmp")) / "ダウンロード"
    try:
        seen, _ = await walk_every_screen(store, size, downloads)
    finally:
        shutil.rmtree(downloads.parent)
    text = "\n".join(seen)
    left = [line for line in dict.fromkeys(seen) if english_words([line])]
    assert not left, "English left on screen:\n" + "\n".join(left)
    # What the walk showed, in a shop owner's words.
    for words in (
        "✉",  # the channel marks, with their legend
        "連絡手段の印: ✉ メール · ✈ Telegram · ☏ SMS",
        "宛先の電話番号が正しくありません",  # a failed reply's reason
        "(画像, ",  # the photo's type, in words
        "スヌーズ中 (",  # until when
    ):
        assert words in text, words


# -- dates, ages and names ------------------------------------------------------------


def test_dates_and_ages_read_as_a_japanese_shop_writes_them() -> None:
    from datetime import datetime

    from omnitui.widgets.format import age, clock_time, when_at

    now = datetime(2026, 12, 5, 15, 30).timestamp()  # a Saturday
    japanese = in_language("ja")
    at = datetime(2026, 12, 2, 15, 4).timestamp()  # the Wednesday before
    assert japanese.run(clock_time, at, now) == "12月2日(水) 15:04"
    assert japanese.run(clock_time, datetime(2026, 12, 5, 9, 5).timestamp(), now) == "9:05"
    assert japanese.run(clock_time, datetime(2025, 12, 2, 8, 0).timestamp(), now) == (
        "2025年12月2日(火) 8:00"
    )
    assert japanese.run(when_at, datetime(2026, 12, 7, 9, 0)) in ("12月7日(月) 9:00", "9:00")
    ages = {
        10: "今",
        5 * 60: "5分",
        3 * 3600: "3時間",
        20 * 3600: "20時間",
        30 * 3600: "昨日",  # Friday 9:30
        3 * 86400: "3日前",
        20 * 86400: "11/15",
        400 * 86400: "2025/10/31",
    }
    for seconds, words in ages.items():
        assert japanese.run(age, now - seconds, now) == words, seconds
    # English keeps its format.
    assert clock_time(at, now) == "12-02 15:04"
    assert clock_time(datetime(2026, 12, 5, 9, 5).timestamp(), now) == "09:05"
    assert [age(now - s, now) for s in (10, 300, 3 * 3600, 3 * 86400, 20 * 86400)] == [
        "now",
        "5m",
        "3h",
        "3d",
        "11/15",
    ]


@pytest.mark.parametrize("width", range(1, 16))
def test_a_name_is_never_cut_between_family_and_given_name(width: int) -> None:
    from omnitui.widgets.format import fit_name

    for name in ("山田 花子", "渡辺 真由美", "Hannah Price", "Mallory [red]Hacker[/]"):
        shown = fit_name(name, width)
        assert cell_len(shown) <= width, (name, width, shown)
        if shown in (name, name.replace(" ", "")):
            continue  # whole (a Japanese name may drop its space to fit)
        assert shown.endswith("…"), shown  # cut at its end, and said so
        kept = shown[:-1]
        assert not kept.endswith(" "), shown
        assert name.replace(" ", "").startswith(kept.replace(" ", "")), shown
        # The cut is inside a word: never just after a whole family name.
        family = name.split(" ")[0]
        assert kept.replace(" ", "") != family, shown


async def test_names_stay_whole_in_the_list_the_header_and_toasts_at_narrow_widths(
    store: Store,
) -> None:
    from omnitui.widgets.contact_list import contact_prompt

    now = time.time()
    long_name = "山田 花子"
    await store.ingest(
        [
            Inbound(SMS, "n1", "+819055556666", long_name, "予約をお願いします", now - 30),
            Inbound(SMS, "n2", "+819055557777", "長谷川 由美子", "こんにちは", now - 20),
            Inbound(SMS, "n3", "+819055558888", "佐々木 健太郎", "ありがとう", now - 10),
            Inbound(SMS, "n4", "+819055559999", "Hannah Price", "thanks", now - 5),
        ]
    )
    rows = await store.list_contacts(limit=10)
    japanese = in_language("ja")
    for summary in rows:
        for width in (20, 22, 24, 26):
            prompt = japanese.run(contact_prompt, summary, width, now)
            top = prompt.plain.split("\n")[0]
            assert cell_len(top) <= width
            family, given = summary.name.split(" ")
            # Either the whole given name shows after the family name, or a
            # cut inside the name: never the family name alone.
            assert (
                f"{family} {given[:1]}" in top
                or f"{family}{given[:1]}" in top
                or (family[:-1] + "…" in top)
            ), (width, top)
    for size in ((60, 20), (80, 24)):
        app = make_app(store, "ja")
        async with app.run_test(size=size, notifications=True) as pilot:
            await pilot.pause(0.2)
            await pilot.press("e")  # resolve the top customer: a toast with her name
            await wait_until(partial(toasted, app), pilot=pilot)
            await pilot.pause(0.2)
            lines = screen_lines(app)
            # The thread header and the toast show the name whole, on one line.
            assert "Hannah Price" in lines[0]
            toast = next(n.message for n in app._notifications)
            assert "Hannah Price" in toast.split("\n")[0]
            # The new-message toast: names broken into lines only between them.
            text = app.toast_text(
                ["長谷川 由美子", "佐々木 健太郎", long_name], "、", tail="ほか3人"
            )
            for line in text.split("\n"):
                assert cell_len(line) <= app.toast_room()
            for name in ("長谷川 由美子", "佐々木 健太郎", long_name):
                assert any(name in line for line in text.split("\n")), text
