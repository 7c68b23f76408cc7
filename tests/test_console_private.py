"""The console is a private chat of someone who is not an admin, and every way out of
it is quiet: Ctrl-C and Ctrl-D in a real terminal, a closed stdin, a closed pipe."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.answers import Answers
from bot.console import Console
from bot.i18n import Translator
from ranking.queries import Rankings

ROOT = Path(__file__).resolve().parent.parent
WAIT = 60.0  # generous: a loaded machine; the tests wait on output, never on time


@pytest.mark.parametrize("command", ["/tailen", "/lichsu", "/mau", "/hoantac", "/quantri"])
async def test_admin_commands_get_the_non_admin_refusal(rankings: Rankings, command: str) -> None:
    answer = await Console(Answers(rankings)).say(command)
    assert answer == Translator("vi")("admin.refused")


async def test_subscriptions_answer_as_a_private_chat(rankings: Rankings) -> None:
    console = Console(Answers(rankings))
    assert await console.say("/huydangky") == "Chưa đăng ký nhận thông báo. Đăng ký: /dangky"
    unknown = await console.say("/dangky abc")
    assert unknown is not None and unknown.startswith("Không rõ nhóm «abc»")
    # a /dangky that would work: no announcement can reach the console, and it says so
    works = await console.say("/dangky huyen")
    assert works is not None and "không nhận được thông báo" in works
    assert await rankings.store.outbox.subscriptions() == []


async def test_page_navigation_by_words_and_by_number(rankings: Rankings) -> None:
    console = Console(Answers(rankings))
    first = await console.say("/top 30 dti 2022")
    assert first is not None and "Trang 1/2" in first and "21. " not in first
    second = await console.say("trang 2")
    assert second is not None and "Trang 2/2" in second
    assert "21. Ninh Bình" in second and "1. TP. Đà Nẵng" not in second
    assert (await console.say("page 1")) == first
    assert (await console.say("tr 2")) == second
    # the numbered "« Trước" choice goes back too
    back = [i for i, c in enumerate(console.choices, 1) if "Trước" in c.label]
    assert back and (await console.say(str(back[0]))) == first


def env_for(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "RANKBOT_DB": str(tmp_path / "c.sqlite3")}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    env.pop("ZALO_BOT_TOKEN", None)
    return env


def read_until(fd: int, needle: bytes, seen: bytearray, start: int = 0) -> None:
    """Read the terminal until `needle` shows up in it after position `start`."""
    deadline = time.monotonic() + WAIT
    while needle not in seen[start:]:
        left = deadline - time.monotonic()
        assert left > 0, f"{needle!r} never came; saw {bytes(seen)[-500:]!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                chunk = b""
            assert chunk, f"the console ended before {needle!r}; saw {bytes(seen)[-500:]!r}"
            seen += chunk


def drain(fd: int, seen: bytearray) -> None:
    while True:
        ready, _, _ = select.select([fd], [], [], WAIT)
        if not ready:
            return
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            return
        if not chunk:
            return
        seen += chunk


@pytest.mark.parametrize("key", [b"\x03", b"\x04"], ids=["ctrl-c", "ctrl-d"])
def test_ctrl_c_and_ctrl_d_end_the_console_in_a_terminal(tmp_path: Path, key: bytes) -> None:
    """A real terminal: pty.fork makes it the child's controlling terminal, so the
    Ctrl-C typed there is the SIGINT a person's Ctrl-C is."""
    env = env_for(tmp_path)
    pid, main = pty.fork()
    if pid == 0:  # the child: the console, on the terminal
        try:
            # as a shell starts a program: Ctrl-C's signal at its default, whatever
            # another test left in this process (an ignored SIGINT is inherited)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.chdir(ROOT)
            os.execve(sys.executable, [sys.executable, "-m", "bot", "ask"], env)
        finally:
            os._exit(127)
    seen = bytearray()
    code: int | None = None
    try:
        read_until(main, b"> ", seen)  # the prompt: waiting in input()
        os.write(main, b"/top 1 huyen 2022\r")
        read_until(main, "Thành phố Lào Cai".encode(), seen)
        reply = seen.index("Thành phố Lào Cai".encode())
        read_until(main, b"> ", seen, start=reply)  # the next prompt, after the reply
        os.write(main, key)
        drain(main, seen)  # the terminal closes when the console ends
        deadline = time.monotonic() + WAIT
        while code is None and time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
            else:
                select.select([], [], [], 0.05)
    finally:
        if code is None:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(main)
    assert code == 0, bytes(seen)
    assert b"Traceback" not in seen and b"Error" not in seen, bytes(seen)


def run_ask(tmp_path: Path, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "bot", "ask", *args],
        cwd=ROOT,
        env=env_for(tmp_path),
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
        **kwargs,
    )


def run_shell(tmp_path: Path, line: str) -> subprocess.CompletedProcess[str]:
    """`line` in bash (redirections, pipes), from the project root, in the ask env."""
    return subprocess.run(
        line,
        shell=True,
        executable="/bin/bash",
        cwd=ROOT,
        env=env_for(tmp_path),
        capture_output=True,
        text=True,
        timeout=WAIT,
        check=False,
    )


def test_a_closed_stdin_ends_the_console_quietly(tmp_path: Path) -> None:
    done = run_shell(tmp_path, f"{sys.executable} -m bot ask 0<&-")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Error" not in done.stderr


@pytest.mark.parametrize("interactive", [False, True])
def test_a_closed_pipe_ends_quietly(tmp_path: Path, interactive: bool) -> None:
    ask = f"{sys.executable} -m bot ask"
    line = f"printf '/top 20 dti 2022\\n' | {ask}" if interactive else f"{ask} '/top 20 dti 2022'"
    done = run_shell(tmp_path, f"set -o pipefail; {line} | head -1")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 1
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr


def test_one_shot_language(tmp_path: Path) -> None:
    english = run_ask(tmp_path, "--lang", "en", "/top 1 huyen 2022")
    assert english.returncode == 0, english.stderr
    assert "1. Thành phố Lào Cai — 651.93 (65.19%) · Advanced" in english.stdout
    switched = run_ask(tmp_path, "/lang en")
    assert "Language set to English." in switched.stdout
    assert "--lang en" in switched.stdout  # how to keep it: it lasts one call


def test_has_token_reads_env_files_as_the_bot_does(tmp_path: Path) -> None:
    def has_token(env_file: str | None) -> int:
        folder = tmp_path / "cwd"
        folder.mkdir(exist_ok=True)
        (folder / ".env").unlink(missing_ok=True)
        if env_file is not None:
            (folder / ".env").write_text(env_file, encoding="utf-8")
        env = {**env_for(tmp_path), "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-m", "bot", "has-token"],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=WAIT,
            check=False,
        )
        assert "Traceback" not in done.stderr, done.stderr
        return done.returncode

    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"
    assert has_token(None) == 1
    assert has_token(f"TELEGRAM_BOT_TOKEN={token}\n") == 0
    assert has_token(f"export TELEGRAM_BOT_TOKEN={token}\n") == 0
    assert has_token("# TELEGRAM_BOT_TOKEN=\nTELEGRAM_BOT_TOKEN=\n") == 1
