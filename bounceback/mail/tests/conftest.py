"""A real IMAP server (Debian's dovecot) and real-looking messages for the mail tests.

One dovecot runs for the whole session on free 127.0.0.1 ports: plain IMAP
(with STARTTLS) and IMAPS, with a self-signed certificate made by openssl.
Each test reads its own folder, so tests share the server but not the mail.
Without the dovecot binary the IMAP tests are skipped ("install dovecot-imapd").
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
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from django.utils import timezone

from bounceback.mail.imap import ImapMailbox
from bounceback.server.testing import free_port

USER = "intake"
PASSWORD = "s3cret-intake"


def _binary(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin:/sbin")


def make_message(
    *,
    sender: str = "Dana Whitfield <dana.whitfield@example.net>",
    to: str = "care@bounceback.test",
    subject: str = "Cold food and a 40 minute wait",
    body: str = (
        "Hello,\n\nWe waited 40 minutes for our mains last night and they arrived cold.\n"
        "I'd like someone to call me back about this.\n\nDana"
    ),
    message_id: str | None = None,
    in_reply_to: str | None = None,
) -> bytes:
    """A plain message as a mail client would send it."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = message_id or make_msgid(domain="mail.example.net")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message.set_content(body)
    return message.as_bytes()


@dataclass
class Dovecot:
    host: str
    port: int
    ssl_port: int | None
    ca_file: str
    log: Path

    def mailbox(self, folder: str, *, security: str = "plain", **kwargs: object) -> ImapMailbox:
        port = self.ssl_port if security == "ssl" else self.port
        assert port, "dovecot runs without TLS here (no openssl)"
        options: dict[str, object] = {
            "host": self.host,
            "port": port,
            "security": security,
            "user": USER,
            "password": PASSWORD,
            "folder": folder,
        }
        options.update(kwargs)
        return ImapMailbox(**options)  # type: ignore[arg-type]

    def client(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4(self.host, self.port, timeout=10)
        conn.login(USER, PASSWORD)
        return conn

    def append(self, folder: str, *messages: bytes) -> None:
        conn = self.client()
        try:
            for raw in messages:
                status, data = conn.append(folder, None, None, raw)
                assert status == "OK", data
        finally:
            conn.logout()

    def seen(self, folder: str) -> int:
        conn = self.client()
        try:
            conn.select(folder, readonly=True)
            _, data = conn.uid("SEARCH", "SEEN")
            return len((data[0] or b"").split())
        finally:
            conn.logout()

    def recreate(self, folder: str) -> None:
        """Delete and create the folder again: it gets a new UIDVALIDITY."""
        conn = self.client()
        try:
            assert conn.delete(folder)[0] == "OK"
            assert conn.create(folder)[0] == "OK"
        finally:
            conn.logout()


def _certificate(directory: Path) -> tuple[Path, Path] | None:
    openssl = _binary("openssl")
    if openssl is None:
        return None
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


def _config(directory: Path, port: int, ssl_port: int | None, tls: tuple[Path, Path] | None) -> str:
    if os.geteuid() == 0:
        # Dovecot refuses to run logins or mail access as root: use its own users.
        mail_user = pwd.getpwnam("dovecot")
        login_user, internal_user = "dovenull", "dovecot"
    else:
        mail_user = pwd.getpwuid(os.getuid())
        login_user = internal_user = mail_user.pw_name
    mail_dir = directory / "mail"
    mail_dir.mkdir()
    if os.geteuid() == 0:
        os.chown(mail_dir, mail_user.pw_uid, mail_user.pw_gid)
    (directory / "users").write_text(
        f"{USER}:{{PLAIN}}{PASSWORD}:{mail_user.pw_uid}:{mail_user.pw_gid}::{mail_dir}/{USER}\n"
    )
    ssl_lines = f"ssl = yes\nssl_cert = <{tls[0]}\nssl_key = <{tls[1]}\n" if tls else "ssl = no\n"
    return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {directory}/run
state_dir = {directory}/state
log_path = {directory}/dovecot.log
{ssl_lines}
auth_mechanisms = plain login
disable_plaintext_auth = no
mail_location = maildir:{mail_dir}/%u
first_valid_uid = {min(mail_user.pw_uid, 500)}
default_login_user = {login_user}
default_internal_user = {internal_user}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {directory}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {directory}/users
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ssl_port or 0}
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"""


def _wait_for_banner(host: str, port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection((host, port), timeout=2) as sock:
                if sock.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.1)
    text = log.read_text() if log.exists() else "(no log)"
    raise RuntimeError(f"dovecot did not start on {host}:{port}:\n{text[-3000:]}")


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    binary = _binary("dovecot")
    if binary is None:
        pytest.skip("no IMAP server for the IMAP tests: install dovecot-imapd")
    directory = Path(tempfile.mkdtemp(prefix="bb-dovecot-"))
    # Dovecot's own users must reach the mail directory inside it.
    directory.chmod(0o755)
    tls = _certificate(directory)
    port, ssl_port = free_port(), (free_port() if tls else None)
    conf = directory / "dovecot.conf"
    conf.write_text(_config(directory, port, ssl_port, tls))
    log = directory / "dovecot.log"
    process = subprocess.Popen(
        [binary, "-F", "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for_banner("127.0.0.1", port, process, log)
        yield Dovecot(
            host="127.0.0.1",
            port=port,
            ssl_port=ssl_port,
            ca_file=str(tls[0]) if tls else "",
            log=log,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def folder(dovecot: Dovecot) -> Iterator[str]:
    """A fresh folder for this test alone."""
    name = f"T{uuid.uuid4().hex[:12]}"
    conn = dovecot.client()
    try:
        assert conn.create(name)[0] == "OK"
    finally:
        conn.logout()
    yield name
    conn = dovecot.client()
    try:
        conn.delete(name)
    finally:
        conn.logout()
