"""The command line: exit codes and one clear line for a user's mistake."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from omnitui.cli import main
from tests.conftest import StoreOpener


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omnitui.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_a_bad_config_line_names_file_line_and_key(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[agent]\nname = "Aiko"\n\n[[email]]\nname = "m"\nimap_host = "h"\nimap_port = "993"\n'
        'username = "u"\npassword_env = "P"\nsmtp_host = "s"\nfrom = "shop@example.com"\n'
    )
    result = run("--config", str(config), "doctor")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"omnitui: {config}, line 7: email[0].imap_port: Input should be a valid integer"
    ]


def test_wrong_type_and_unknown_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[agent]\nname = "Aiko"\n\n[shop]\nname = "S"\n\n[store]\npth = "x"\n')
    assert main(["--config", str(config), "doctor"]) == 2
    assert capsys.readouterr().err.strip() == f"omnitui: {config}, line 8: store.pth: unknown key"
    config.write_text(
        '[[sms]]\nname = "s"\naccount_sid = "AC1"\nauth_token_env = "T"\nfrom = "+81"\npoll_seconds = "10"\n'
    )
    assert main(["--config", str(config), "doctor"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"omnitui: {config}, line 6: sms[0].poll_seconds: Input should be a valid integer"
    )


def test_signatures_in_the_config_are_checked_where_they_are_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from omnitui import config as settings

    mailbox = (
        '[[email]]\nname = "m"\nimap_host = "h"\nusername = "shop@example.com"\n'
        'password_env = "P"\nsmtp_host = "s"\nfrom = "Sakura <Info@Example.com>"\n'
    )
    path = tmp_path / "c.toml"
    path.write_text(
        '[agent]\nname = "Aiko"\nsignature = "Aiko (florist)"\n\n'
        + mailbox
        + 'signature = """\nSakura Flowers   \n03-1234-5678\n"""\n'
    )
    loaded = settings.load(path)
    assert loaded.email[0].signature == "Sakura Flowers\n03-1234-5678"
    assert loaded.agent.signature == "Aiko (florist)"
    assert loaded.email[0].own_addresses == {"info@example.com", "shop@example.com"}
    path.write_text(mailbox + 'signature = """\n-- \nSakura Flowers\n"""\n')
    assert main(["--config", str(path), "doctor"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"omnitui: {path}, line 8: email[0].signature: "
        'leave out the "-- " line: OmniTUI puts it above the signature'
    )


def test_broken_toml_says_where(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[agent]\nname = "Aiko\n')
    assert main(["--config", str(config), "doctor"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"omnitui: {config}, line 2: not valid TOML")


def test_without_a_config_it_says_how_to_make_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(tmp_path / "none.toml")]) == 2
    err = capsys.readouterr().err
    assert "omnitui init" in err and "omnitui demo" in err


def test_init_writes_a_config_that_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "sub" / "config.toml"
    assert main(["--config", str(config), "init"]) == 0
    assert "[agent]" in config.read_text()
    assert main(["--config", str(config), "init"]) == 2  # never overwrites by accident
    capsys.readouterr()
    config.write_text(config.read_text().replace("# path = ", f'path = "{tmp_path / "s.db"}" #'))
    assert main(["--config", str(config), "doctor"]) == 0
    assert "ok    config" in capsys.readouterr().out


def test_bad_usage_exits_2() -> None:
    result = run("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_an_unchanged_config_is_read_from_the_cache_without_pydantic(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[agent]\nname = "Aiko"\n\n[[telegram]]\nname = "bot"\ntoken_env = "T"\n'
        'mode = "webhook"\nwebhook_listen = "[::1]:8443"\nwebhook_url = "https://x"\n'
        'secret_env = "S"\n'
    )
    probe = (
        "import sys; from pathlib import Path; from omnitui.cli import load_settings; "
        f"s = load_settings(Path({str(config)!r})); "
        "print(repr(s), 'pydantic' in sys.modules)"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}

    def load() -> str:
        out = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
        )
        return out.stdout.strip()

    first, second = load(), load()
    assert first.endswith(" True") and second.endswith(" False")
    assert first.removesuffix(" True") == second.removesuffix(" False")
    assert "HostPort(host='::1', port=8443)" in second
    (kept,) = (tmp_path / "cache" / "omnitui" / "settings").iterdir()
    assert kept.stat().st_mode & 0o077 == 0
    # A changed config is checked again, and its mistakes still name their line.
    config.write_text(config.read_text() + "mood = 1\n")
    result = run("--config", str(config), "doctor", env={"XDG_CACHE_HOME": env["XDG_CACHE_HOME"]})
    assert result.returncode == 2
    assert result.stderr.strip() == f"omnitui: {config}, line 11: telegram[0].mood: unknown key"


def test_secrets_never_show_in_the_settings_repr(tmp_path: Path) -> None:
    from omnitui import config

    text = (
        '[[telegram]]\nname = "bot"\ntoken_env = "OMNI_TEST_TOKEN"\n'
        '[[sms]]\nname = "s"\naccount_sid = "AC1"\nauth_token_cmd = "echo s3cr3t-value"\nfrom = "+81"\n'
    )
    settings = config.parse(text, tmp_path / "c.toml")
    os.environ["OMNI_TEST_TOKEN"] = "123:abc-secret"
    try:
        assert settings.telegram[0].token.reveal() == "123:abc-secret"
        assert settings.sms[0].auth_token.reveal() == "s3cr3t-value"
        dumped = (
            repr(settings) + repr(settings.telegram[0].token) + repr(settings.sms[0].auth_token)
        )
        assert "abc-secret" not in dumped and "s3cr3t" not in dumped.replace(
            "echo s3cr3t-value", ""
        )
    finally:
        del os.environ["OMNI_TEST_TOKEN"]
    with pytest.raises(config.SecretError, match="OMNI_TEST_TOKEN is not set"):
        settings.telegram[0].token.reveal()


def test_only_one_process_runs_the_channels(tmp_path: Path) -> None:
    from omnitui.hub import ChannelLock

    first, second = ChannelLock(tmp_path / "s.db"), ChannelLock(tmp_path / "s.db")
    assert first.acquire()
    assert not second.acquire()
    assert second.holder() == str(os.getpid())
    first.release()
    assert second.acquire()
    second.release()


def test_serve_stops_cleanly_and_a_second_serve_says_who_runs_the_channels(tmp_path: Path) -> None:
    import signal

    config = tmp_path / "config.toml"
    config.write_text(f'[store]\npath = "{tmp_path / "shop.db"}"\n')
    env = {**os.environ, "HOME": str(tmp_path)}
    command = [sys.executable, "-m", "omnitui.cli", "--config", str(config), "serve"]
    server = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        for line in server.stderr:  # wait until it serves
            if "serving 0 channel(s)" in line:
                break
        second = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=30, check=False
        )
        assert second.returncode == 1
        assert f"(pid {server.pid}) already runs the channels" in second.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) == 0


@pytest.mark.backends
def test_canned_replies_round_trip_through_a_toml_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], open_store: StoreOpener
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(open_store.toml("shop.db"))
    replies = tmp_path / "replies.toml"
    replies.write_text(
        '[[reply]]\nshortcut = "/hours"\ntitle = "営業時間"\nlanguage = "ja"\n'
        'body = "営業時間は10時〜19時です。\\n水曜定休。 \\"{shop}\\""\n\n'
        '[[reply]]\nshortcut = "broken"\n\n'
        '[[reply]]\nshortcut = "thanks"\nbody = "Thank you, {first_name|there}!"\n'
    )
    assert main(["--config", str(config), "canned", "import", str(replies)]) == 2
    captured = capsys.readouterr()
    assert "reply 2: needs a shortcut and a body" in captured.err
    assert "Imported 2 canned replies" in captured.out
    exported = tmp_path / "out.toml"
    assert main(["--config", str(config), "canned", "export", str(exported)]) == 0
    from omnitui import canned_file

    again = canned_file.load(exported.read_text())
    assert again.problems == []
    assert (
        "hours",
        "営業時間",
        '営業時間は10時〜19時です。\n水曜定休。 "{shop}"',
        "ja",
    ) in again.replies
    assert ("thanks", "", "Thank you, {first_name|there}!", "") in again.replies


@pytest.mark.backends
def test_a_customer_list_imports_with_bad_rows_reported_by_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], open_store: StoreOpener
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        open_store.toml("shop.db")
        + '[[sms]]\nname = "s"\naccount_sid = "AC1"\nauth_token_env = "T"\nfrom = "+81"\n'
        'default_region = "JP"\n'
    )
    listing = tmp_path / "customers.csv"
    listing.write_text(
        "\ufeffname,first_name,language,email,phone,company,tags\n"
        "田中 美咲,美咲,ja,Misaki@Example.jp,090-1234-5678,㈱さくら商事,vip;wholesale\n"
        "Emma Wilson,Emma,en,emma@example.com,,,\n"
        "Broken,,,not-an-email,,,\n"
        ",,,,,,\n",
        encoding="utf-8",
    )
    assert main(["--config", str(config), "contacts", "import", str(listing)]) == 2
    out = capsys.readouterr()
    assert "line 4: not an email address: 'not-an-email'" in out.err
    assert "line 5: needs a name or an address" in out.err
    assert "2 new contacts, 0 updated" in out.out
    card = tmp_path / "ken.vcf"
    card.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:佐藤;健;;;\r\nFN:佐藤 健\r\nTEL;TYPE=CELL:080-9999-0000\r\n"
        "ORG:Sato Farm\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Emma W.\r\nEMAIL:emma@example.com\r\nNOTE:likes tulips\r\nEND:VCARD\r\n",
        encoding="utf-8",
    )
    assert main(["--config", str(config), "contacts", "import", str(card)]) == 0
    assert "1 new contacts, 1 updated" in capsys.readouterr().out
    exported = tmp_path / "out.csv"
    assert main(["--config", str(config), "contacts", "export", str(exported)]) == 0
    capsys.readouterr()
    from omnitui import contacts_file
    from omnitui.domain.models import IdentityKind

    again = contacts_file.read_csv(exported.read_text(encoding="utf-8"))
    assert again.problems == []
    by_name = {r.name: r for r in again.records}
    misaki = by_name["田中 美咲"]
    assert set(misaki.identities) == {
        (IdentityKind.EMAIL, "misaki@example.jp"),
        (IdentityKind.PHONE, "+819012345678"),
    }
    assert (misaki.tags, misaki.fields) == (("vip", "wholesale"), {"company": "㈱さくら商事"})
    assert by_name["Emma W."].fields == {"notes": "likes tulips"}
    assert by_name["佐藤 健"].identities == ((IdentityKind.PHONE, "+818099990000"),)


def test_global_options_before_or_after_the_command(tmp_path: Path) -> None:
    store = tmp_path / "shop.db"
    config = tmp_path / "config.toml"
    config.write_text(f'[store]\npath = "{store}"\n', encoding="utf-8")
    after = run("doctor", "--config", str(config))
    before = run("--config", str(config), "doctor")
    assert after.returncode == before.returncode == 0, after.stderr
    assert after.stdout == before.stdout
    assert f"ok    config   {config}" in after.stdout
    # The one after the command wins, as a systemd line appending options expects.
    other = tmp_path / "other.toml"
    both = run("--config", str(other), "doctor", "--config", str(config))
    assert both.returncode == 0 and f"ok    config   {config}" in both.stdout
    for args in (
        ["contacts", "export", "-", "--config", str(config)],
        ["canned", "export", "-", "--language", "ja", "--config", str(config)],
    ):
        out = run(*args)
        assert out.returncode == 0, out.stderr


def test_version() -> None:
    from importlib.metadata import version

    out = run("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"omnitui {version('omnitui')}"


def test_a_keymap_line_that_cannot_work_names_its_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[store]\npath = "{tmp_path / "s.db"}"\n\n[keymap]\n"inbox.resolve" = "x"\n'
        '"inbox.resolv" = "y"\n',
        encoding="utf-8",
    )
    out = run("doctor", "--config", str(config))
    assert out.returncode == 2
    assert out.stderr.strip() == (
        f"omnitui: {config}, line 6: keymap.inbox.resolv: "
        "no such key binding (? in the console lists the ids)"
    )
    config.write_text(
        f'[store]\npath = "{tmp_path / "s.db"}"\n\n[keymap]\n"inbox.resolve" = "r"\n',
        encoding="utf-8",
    )
    out = run("--config", str(config))  # the console refuses to start, in one line
    assert out.returncode == 2
    assert out.stderr.strip() == (
        f"omnitui: {config}, line 5: keymap.inbox.resolve: 'r' is already the key of inbox.reply"
    )
    config.write_text(
        f'[store]\npath = "{tmp_path / "s.db"}"\n\n[keymap]\n"inbox.resolve" = "x"\n',
        encoding="utf-8",
    )
    assert run("doctor", "--config", str(config)).returncode == 0


def test_the_keymap_check_knows_every_screen_with_keys() -> None:
    from omnitui import keymap

    root = Path(keymap.__file__).parent
    with_keys = {
        f"omnitui.{p.parent.name}.{p.stem}"
        for folder in ("screens", "widgets")
        for p in (root / folder).glob("*.py")
        if "BINDINGS = [" in p.read_text(encoding="utf-8")
    }
    assert with_keys == set(keymap._MODULES)
