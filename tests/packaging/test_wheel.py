"""Issue #19: the built wheel works on its own, away from the checkout.

It is built here (no network: the build backend and Babel come from the dev environment),
installed without dependencies into a fresh virtualenv that borrows only the third-party
libraries of this one, and then used as an operator would from an empty folder: validate
the packs it ships, migrate a SQLite database, serve the sign-in page.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.ops.test_gunicorn import free_port, get

ROOT = Path(__file__).resolve().parents[2]
LEFT_OUT = (".git", ".venv", "build", "dist", "instance", "*.egg-info", "__pycache__", "*.mo")
PACKS = ("after_sales", "catering", "ecommerce", "education", "finance", "healthcare")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # A copy of the sources, so no build/ left over from an earlier build (setuptools never
    # empties it) can slip a deleted module into the wheel, and the checkout stays clean.
    source = tmp_path_factory.mktemp("source") / "careloop"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*LEFT_OUT))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["-w", str(out), str(source)],
        check=True,
        timeout=300,
    )
    (built,) = out.glob("careloop-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(home)], check=True)
    python = home / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps"]
        + ["--no-index", str(wheel)],
        check=True,
        timeout=300,
    )
    own_site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # Third-party libraries only: a plain path line, so this environment's editable finder
    # for the checkout (a .pth with an import) is not run there.
    (Path(own_site) / "borrowed.pth").write_text(site.getsitepackages()[0] + "\n")
    return home


def run(venv: Path, cwd: Path, *args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(venv / "bin" / args[0]), *args[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def clean_env(tmp_path: Path) -> dict[str, str]:
    keep = {"PATH", "HOME", "LANG", "TMPDIR"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        CARELOOP_DATABASE_URL=f"sqlite:///{tmp_path}/careloop.db",
        CARELOOP_INSECURE_DEV="1",
        CARELOOP_INSECURE_COOKIES="1",
        CARELOOP_IN_PROCESS_SCHEDULER="0",
        CARELOOP_LOG_FORMAT="text",
    )
    return env


def test_the_wheel_holds_what_runs_need_and_only_careloops_names(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    for needed in (
        "web/templates/web/base.html",
        "forms/templates/desk/record.html",
        "admin/templates/admin_packs/pack.html",
        "web/static/careloop.css",
        "portal/templates/portal/base.html",
        "portal/static/portal.css",
        "portal/static/embed.js",
        "web/translations/en/LC_MESSAGES/messages.mo",
        "engine/store/migrations/env.py",
        "engine/store/migrations/script.py.mako",
        "workflows/pack.schema.json",
        "workflows/after_sales/pack.yaml",
    ):
        assert needed in names, needed
    assert any(n.startswith("engine/store/migrations/versions/0001_") for n in names)
    assert not any(n.startswith(("tests/", "bench/")) for n in names)


def test_the_installed_wheel_validates_migrates_and_serves(venv: Path, tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    where = run(
        venv, tmp_path, "python", "-c", "import workflows; print(workflows.__file__)", env=env
    )
    shipped = Path(where.strip()).parent
    assert shipped.is_relative_to(venv), f"imported from {shipped}, not the wheel"
    checked = run(
        venv, tmp_path, "careloop", "validate", *(str(shipped / p) for p in PACKS), env=env
    )
    assert checked.count(": ok") == len(PACKS)
    run(venv, tmp_path, "careloop", "db", "upgrade", env=env)
    port = free_port()
    server = subprocess.Popen(
        [str(venv / "bin" / "careloop"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        page = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status, _headers, page = get(
                    f"http://127.0.0.1:{port}/login?lang=en", {"Accept-Language": "en"}
                )
                if status == 200:
                    break
            except OSError:
                time.sleep(0.3)
        assert "Sign in" in page or "Password" in page, page[:500]
        assert "careloop.css" in page
    finally:
        server.terminate()
        server.wait(timeout=30)
