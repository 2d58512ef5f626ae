"""A private dovecot IMAP server for the tests: its own config, users and maildirs in a tmp
dir, listening on a free loopback port, run in the foreground (``-F``) as a child process.

Debian's ``dovecot-imapd`` provides the binary (``.ci/run`` installs it); the system's own
dovecot service is neither used nor needed.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.channels.email.tls import Certificate, self_signed

DOVECOT = "/usr/sbin/dovecot"
USER = "support"
PASSWORD = "imap-pass-1"


_WITHOUT_IDLE = """
protocol imap {
  imap_capability = IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE LITERAL+
}
"""


def available() -> bool:
    return Path(DOVECOT).exists()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Dovecot:
    root: Path
    port: int = 0
    #: IMAPS (implicit TLS) with a certificate for 127.0.0.1 from ``certificate``.
    tls_port: int = 0
    certificate: Certificate | None = None
    #: False: the server does not announce IDLE (clients must poll).
    idle: bool = True
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> Dovecot:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        for part in ("run", "state", "mail"):
            (self.root / part).mkdir(exist_ok=True)
        if os.geteuid() == 0:
            # Root runs dovecot's services as its own users; mail belongs to "dovecot".
            internal, login = "dovecot", "dovenull"
            owner = pwd.getpwnam("dovecot")
            shutil.chown(self.root / "mail", owner.pw_uid, owner.pw_gid)
            mail_user = "dovecot"
        else:
            internal = login = mail_user = pwd.getpwuid(os.geteuid()).pw_name
        (self.root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        self.port, self.tls_port = _free_port(), _free_port()
        self.certificate = self_signed(self.root / "tls")
        root = self.root
        (root / "dovecot.conf").write_text(
            f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{self.certificate.cert_path}
ssl_key = <{self.certificate.key_path}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_user} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""
            + ("" if self.idle else _WITHOUT_IDLE)
        )
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    if sock.recv(64).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"dovecot did not start: {self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text()[-2000:] if path.exists() else ""
