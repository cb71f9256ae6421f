"""OmniTUI as users install it: a wheel in a fresh virtual environment.

An editable checkout reads every file from the source tree, so a file the
wheel forgets (a stylesheet, a migration, the example config) only shows on
a real install: these tests build the wheel from the tracked files, install
it into a new venv and drive the installed binary.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_tmux import demo_in_tmux
from tests.waiting import wait_until_sync

pytestmark = pytest.mark.tmux

ROOT = Path(__file__).resolve().parents[1]


def tracked_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=False, text=True
    )
    if out.returncode != 0:
        pytest.skip("not a git checkout: the wheel is built from the tracked files")
    return [name for name in out.stdout.split("\0") if name]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the tracked files alone (a clean checkout)."""
    source = tmp_path_factory.mktemp("checkout")
    for name in tracked_files():
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(source)],
        check=True,
    )
    (built,) = out.glob("omnitui-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The `omnitui` binary of a fresh, non-editable venv holding only the wheel."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            str(wheel),
        ],
        check=True,
    )
    yield venv / "bin" / "omnitui"


def test_the_wheel_ships_every_file_of_the_package(wheel: Path) -> None:
    shipped = set(zipfile.ZipFile(wheel).namelist())
    package = [n for n in tracked_files() if n.startswith("omnitui/")]
    missing = [n for n in package if n not in shipped]
    assert not missing, f"tracked files the wheel leaves out: {missing}"
    assert "omnitui/screens/inbox.tcss" in shipped  # what a 0.1.0 wheel forgot


def run(binary: Path, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    env |= {k: v for k, v in os.environ.items() if k.startswith("XDG_")}
    return subprocess.run(
        [str(binary), *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_the_installed_binary_tells_its_version(installed: Path, tmp_path: Path) -> None:
    out = run(installed, "--version", home=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "omnitui 0.1.0"


def test_the_installed_demo_opens_shows_customers_and_quits(
    installed: Path, tmp_path: Path
) -> None:
    with demo_in_tmux(tmp_path, "--interval", "2", binary=installed) as (term, done):
        screen = term.wait_for("Customers", timeout=60)
        assert "Canned replies" in screen
        term.wait_for("Reply via", timeout=30)  # the first customer's thread is on screen
        term.keys("q")
        wait_until_sync(done.exists, 15, term.screen)
        assert done.read_text().strip() == "0", term.screen()


def test_the_installed_doctor_checks_a_config(installed: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    init = run(installed, "init", "--config", str(config), home=tmp_path)
    assert init.returncode == 0, init.stderr
    config.write_text(
        f'[agent]\nname = "Aiko"\n[store]\npath = "{tmp_path / "shop.db"}"\n', encoding="utf-8"
    )
    out = run(installed, "doctor", "--config", str(config), home=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"ok    config   {config}" in out.stdout
    assert "ok    store" in out.stdout
