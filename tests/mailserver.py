"""A real IMAP server for the mail tests: Dovecot in the foreground on a free local port.

Issue #20 asks for email tests against real servers, never a mock of imaplib. Each server
gets a folder of its own (config, passwd-file, maildirs, sockets, state, log), listens on
127.0.0.1 only, without TLS, and never reads or touches the system's Dovecot (its config in
/etc/dovecot, its ports, its service): `dovecot -F -c <folder>/dovecot.conf`.

Written for Dovecot 2.3 (Debian's `dovecot-imapd`; 2.3.19 checked), whose settings are
`ssl = no` and `disable_plaintext_auth = no` (2.4 renamed the latter `auth_allow_cleartext`
and changed the passdb syntax; `dovecot_version()` lets a caller tell them apart).

As root, Dovecot's own processes run as its usual unprivileged users (`dovecot`, `dovenull`)
and the mailboxes belong to `nobody`, because Dovecot refuses mail access as root; the folder
lives in the system's temporary directory, not under pytest's root-only one, so that those
users can reach it. As anyone else, every process runs as the current user.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

DOVECOT = Path("/usr/sbin/dovecot")
START_TIMEOUT = 15.0  # seconds until the port must answer with an IMAP greeting
STOP_TIMEOUT = 10.0  # seconds Dovecot gets to stop after SIGTERM, before SIGKILL
DEFAULT_DOMAIN = "careloop.test"
DEFAULT_USERS = {"desk": "desk-secret-1", "other": "other-secret-2"}

CONFIG = """\
# Written by tests/mailserver.py for one test server; nothing here is the system's.
protocols = imap
listen = 127.0.0.1
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
info_log_path = {folder}/dovecot.log
instance_name = careloop-test-{port}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal_user}
default_login_user = {login_user}
first_valid_uid = {uid}
last_valid_uid = {uid}
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {folder}/passwd/%d
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={folder}/mail/%d/%n
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


class MailServerUnavailable(RuntimeError):
    """Dovecot is missing, or did not answer in time (its log says why)."""


def dovecot_version() -> str:
    """The installed Dovecot's version, such as '2.3.19.1 (9b53102964)'."""
    done = subprocess.run(
        [str(DOVECOT), "--version"], capture_output=True, text=True, check=True, timeout=10
    )
    return done.stdout.strip()


def free_port() -> int:
    """A port nobody listens on right now (the OS picks it); Dovecot binds it a moment later."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Accounts:
    """Who runs Dovecot's processes and owns the mail: see the module's docstring."""

    internal_user: str
    login_user: str
    uid: int
    gid: int

    @classmethod
    def for_this_process(cls) -> Accounts:
        if os.geteuid() != 0:
            me = pwd.getpwuid(os.geteuid())
            return cls(me.pw_name, me.pw_name, me.pw_uid, me.pw_gid)
        mail_owner = pwd.getpwnam("nobody")
        return cls("dovecot", "dovenull", mail_owner.pw_uid, mail_owner.pw_gid)


@dataclass
class ImapServer:
    """A running Dovecot: where it listens, who may sign in, and how to put mail in."""

    host: str
    port: int
    users: dict[str, str]
    folder: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    @property
    def user(self) -> str:
        """The first user: the mailbox most tests read."""
        return next(iter(self.users))

    @property
    def password(self) -> str:
        return self.users[self.user]

    def add_users(self, domain: str, users: dict[str, str]) -> ImapServer:
        """Adds users `<name>@<domain>` and returns this server as seen by them alone, so that
        each test gets empty mailboxes of its own without a Dovecot of its own (stopping one
        takes a second). Each domain is a passwd-file of its own, which Dovecot opens on the
        first sign-in: a file it has not read yet, never one it may have cached."""
        write_passwd(self.folder, domain, users)
        return replace(self, users={f"{name}@{domain}": pw for name, pw in users.items()})

    def connect(self, user: str | None = None) -> imaplib.IMAP4:
        """A signed-in IMAP client, for a test to look at a mailbox as a mail client would."""
        name = user or self.user
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        try:
            client.login(name, self.users[name])
        except BaseException:
            client.shutdown()
            raise
        return client

    def deliver(self, raw: bytes, user: str | None = None, folder: str = "INBOX") -> None:
        """Puts one message, unseen, into the user's folder: an IMAP APPEND, as a real delivery
        agent's result looks to a reader (the bytes are stored exactly as given)."""
        client = self.connect(user)
        try:
            status, data = client.append(folder, None, None, raw)
            if status != "OK":
                raise MailServerUnavailable(f"APPEND refused: {data!r}")
        finally:
            client.logout()

    def unseen(self, user: str | None = None, folder: str = "INBOX") -> list[int]:
        """The UIDs still unseen in the folder, looked at read-only (nothing is marked)."""
        client = self.connect(user)
        try:
            client.select(folder, readonly=True)
            _, data = client.uid("SEARCH", "UNSEEN")
            return sorted(int(uid) for uid in data[0].split()) if data[0] else []
        finally:
            client.logout()

    def log(self) -> str:
        path = self.folder / "dovecot.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def write_passwd(folder: Path, domain: str, users: dict[str, str]) -> None:
    """The domain's passwd-file, with plain passwords (test users only), written whole."""
    if not domain or "/" in domain or domain.startswith("."):
        raise ValueError(f"not a domain for a passwd-file: {domain!r}")
    lines = "".join(f"{name}:{{PLAIN}}{password}::::::\n" for name, password in users.items())
    draft = folder / "passwd" / f".{domain}.draft"
    draft.write_text(lines, encoding="utf-8")
    draft.replace(folder / "passwd" / domain)


def write_folder(folder: Path, port: int, accounts: Accounts) -> Path:
    """The config and the empty folders: sockets, state, maildirs, a passwd-file per domain."""
    for name in ("run", "state", "mail", "passwd"):
        (folder / name).mkdir()
    # Dovecot's unprivileged processes read the passwd-file and must reach the folder.
    folder.chmod(0o755)
    os.chown(folder / "mail", accounts.uid, accounts.gid)
    config = folder / "dovecot.conf"
    config.write_text(
        CONFIG.format(
            folder=folder,
            port=port,
            internal_user=accounts.internal_user,
            login_user=accounts.login_user,
            uid=accounts.uid,
            gid=accounts.gid,
        ),
        encoding="utf-8",
    )
    return config


def greets(host: str, port: int) -> bool:
    """True once the port answers with an IMAP greeting ('* OK')."""
    try:
        with socket.create_connection((host, port), timeout=1) as conn:
            return conn.recv(64).startswith(b"* OK")
    except OSError:
        return False


def wait_until_ready(process: subprocess.Popen[bytes], host: str, port: int) -> None:
    """Polls the port until Dovecot greets; bounded by START_TIMEOUT, and stops early if
    Dovecot exits (a config error, the port taken meanwhile)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise MailServerUnavailable(f"dovecot exited with status {process.returncode}")
        if greets(host, port):
            return
        time.sleep(0.05)
    raise MailServerUnavailable(f"dovecot did not answer on {host}:{port} in {START_TIMEOUT} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stops our Dovecot by its own process id: SIGTERM, then SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


@contextmanager
def running_dovecot(
    users: dict[str, str] | None = None, domain: str = DEFAULT_DOMAIN
) -> Iterator[ImapServer]:
    """Starts a Dovecot of its own in a fresh temporary folder, yields it, stops it, and
    removes the folder. Raises MailServerUnavailable when Dovecot is missing or does not
    start (with its log)."""
    if not DOVECOT.exists():
        raise MailServerUnavailable(f"{DOVECOT} is missing (Debian package dovecot-imapd)")
    accounts = Accounts.for_this_process()
    folder = Path(tempfile.mkdtemp(prefix="careloop-dovecot-"))
    host, port = "127.0.0.1", free_port()
    process: subprocess.Popen[bytes] | None = None
    try:
        config = write_folder(folder, port, accounts)
        with (folder / "stderr.log").open("wb") as stderr:
            process = subprocess.Popen(
                [str(DOVECOT), "-F", "-c", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
            )
        server = ImapServer(host, port, {}, folder, process)
        try:
            wait_until_ready(process, host, port)
        except MailServerUnavailable as error:
            stderr_text = (folder / "stderr.log").read_text(errors="replace")
            raise MailServerUnavailable(f"{error}\n{stderr_text}{server.log()}") from None
        yield server.add_users(domain, users or DEFAULT_USERS)
    finally:
        if process is not None:
            stop(process)
        shutil.rmtree(folder, ignore_errors=True)
