"""Body digests and SSH signatures of changelogs, through the system's ``ssh-keygen``.

Layout of a changelog file (every line ends with ``\\n``; we never write ``\\r``)::

    lines 1..N      the body (header, verdict, deltas, cases, warnings)
    line N+1        <!-- reviewer:signoff lines=N sha256=HEX -->
                    the sign-off block (who signed off, the digest, how to check it)
    line M+1        <!-- reviewer:signature lines=M -->     only with an embedded signature
                    the armored SSH signature of lines 1..M, in a collapsed <details> block

The **body digest** is the SHA-256 of the bytes of lines 1..N exactly as written (UTF-8, ``\\n``
line endings), so anyone can check it with ``head -n N FILE | sha256sum``. A line count rather
than a marker search keeps the rule immune to model output: a model that prints our marker lands
inside a code block of the body, and line N+1 is still ours.

The **signature** is ``ssh-keygen -Y sign -n reviewer-changelog`` over the whole file (detached
``FILE.sig``) or over lines 1..M (embedded). It is a standard SSHSIG, so plain ``ssh-keygen -Y
verify`` checks it without reviewer. ``verify_file`` names the signer from an allowed-signers file
(``ssh-keygen -Y find-principals``), then verifies with that principal.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import ReviewerError, UsageError
from ..fsutil import atomic_write_bytes

__all__ = [
    "NAMESPACE", "SIGNATURE_MARKER_RE", "SIGNOFF_MARKER_RE", "DamagedSignature", "Layout", "SignatureInfo",
    "VerifyFailed", "VerifyReport", "body_digest", "default_allowed_signers", "embed_signature", "key_fingerprint",
    "parse_layout", "resolve_key", "sign_bytes", "sign_file", "signature_info", "signoff_marker", "split_lines", "ssh_keygen",
    "verify_file", "write_atomic",
]  # fmt: skip

NAMESPACE = "reviewer-changelog"
SIGNOFF_MARKER_RE = re.compile(r"^<!-- reviewer:signoff lines=(\d+) sha256=([0-9a-f]{64}) -->$")
SIGNATURE_MARKER_RE = re.compile(r"^<!-- reviewer:signature lines=(\d+) -->$")
_ARMOR_BEGIN = "-----BEGIN SSH SIGNATURE-----"
_ARMOR_END = "-----END SSH SIGNATURE-----"


class VerifyFailed(ReviewerError):
    """The file is not what was signed (or not signed by anyone trusted): ``reviewer verify`` exits 1."""


# ---------------------------------------------------------------------------------------------
# Layout and digest
# ---------------------------------------------------------------------------------------------


def split_lines(text: str) -> list[str]:
    """Lines with their ``\\n``, split on ``\\n`` only (``str.splitlines`` also splits on
    U+2028, form feeds and more, which ``head -n`` does not)."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def body_digest(body: str) -> str:
    """SHA-256 (hex) of the body's UTF-8 bytes: what ``head -n N FILE | sha256sum`` prints."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def signoff_marker(body: str) -> str:
    """The marker line (without ``\\n``) that follows ``body`` and records its size and digest."""
    if body and not body.endswith("\n"):
        raise ValueError("the body must end with a newline")
    return f"<!-- reviewer:signoff lines={len(split_lines(body))} sha256={body_digest(body)} -->"


@dataclass(frozen=True, slots=True)
class Layout:
    lines: list[str]
    body_lines: int | None  # N: the body is lines 1..N (None: no sign-off block found)
    recorded_digest: str | None
    signed_lines: int | None  # M: an embedded signature covers lines 1..M
    embedded_signature: str | None

    @property
    def body(self) -> str:
        return "".join(self.lines[: self.body_lines or 0])

    @property
    def signed_part(self) -> str:
        return "".join(self.lines[: self.signed_lines] if self.signed_lines is not None else self.lines)


def _last_marker(lines: list[str], pattern: re.Pattern[str], stop: int) -> tuple[int, re.Match[str]] | None:
    for i in range(stop - 1, -1, -1):
        m = pattern.match(lines[i].rstrip("\n"))
        if m:
            return i, m
    return None


def parse_layout(text: str, name: str = "file") -> Layout:
    """Find the sign-off block and an embedded signature. Raises ``VerifyFailed`` when a marker's
    line count does not match where the marker is (lines were added or removed above it)."""
    lines = split_lines(text)
    signed_lines = signature = None
    found = _last_marker(lines, SIGNATURE_MARKER_RE, len(lines))
    stop = len(lines)
    if found:
        idx, m = found
        signed_lines = int(m.group(1))
        if signed_lines != idx:
            raise VerifyFailed(
                f"{name}: the signature marker on line {idx + 1} says it follows line {signed_lines}: "
                "lines were added or removed above it"
            )
        stop = idx
        rest = "".join(lines[idx + 1 :])
        begin, end = rest.find(_ARMOR_BEGIN), rest.find(_ARMOR_END)
        if begin < 0 or end < begin:
            raise VerifyFailed(f"{name}: the embedded signature block after line {idx + 1} is damaged")
        signature = rest[begin : end + len(_ARMOR_END)] + "\n"
    body_lines = digest = None
    found = _last_marker(lines, SIGNOFF_MARKER_RE, stop)
    if found:
        idx, m = found
        body_lines, digest = int(m.group(1)), m.group(2)
        if body_lines != idx:
            raise VerifyFailed(
                f"{name}: the sign-off block on line {idx + 1} says the body is lines 1–{body_lines}: "
                "lines were added to or removed from the body"
            )
    return Layout(lines, body_lines, digest, signed_lines, signature)


# ---------------------------------------------------------------------------------------------
# ssh-keygen
# ---------------------------------------------------------------------------------------------


def ssh_keygen() -> str:
    exe = shutil.which("ssh-keygen")
    if not exe:
        raise ReviewerError("ssh-keygen not found: install OpenSSH 8.2 or later to sign or verify changelogs")
    return exe


def _git_config(key: str) -> str | None:
    try:
        out = subprocess.run(["git", "config", "--get", key], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def resolve_key(key: str | None, workdir: Path) -> Path:
    """The key file to sign with: ``key`` (a path, or ``key::ssh-ed25519 AAAA…`` as git accepts),
    else git's ``user.signingkey``. A public key means "the private half is in ssh-agent"."""
    source = "--sign"
    if not key:
        key = _git_config("user.signingkey")
        source = "git config user.signingkey"
        if not key:
            raise UsageError("--sign: give a key file, or set git config user.signingkey (as for SSH-signed commits)")
    if key.startswith("key::") or key.startswith("ssh-"):
        literal = key.removeprefix("key::").strip()
        path = workdir / "signing_key.pub"
        path.write_text(literal + "\n", encoding="utf-8")
        return path
    path = Path(key).expanduser()
    if not path.is_file():
        raise UsageError(f"{source}: {key}: no such key file")
    return path


def _run(args: list[str], *, data: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(args, input=data, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ReviewerError(f"{' '.join(args[:3])} did not finish in {timeout:.0f} s") from None


def _stderr_line(proc: subprocess.CompletedProcess[bytes]) -> str:
    lines = [ln.strip() for ln in proc.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith(("Signing ", "Write signature"))]
    return lines[-1] if lines else f"exit status {proc.returncode}"


def key_fingerprint(key: Path) -> str:
    """``ED25519 key SHA256:…`` of a key file (private or public; needs no passphrase)."""
    proc = _run([ssh_keygen(), "-l", "-f", str(key)])
    if proc.returncode != 0:
        raise UsageError(f"--sign: {key}: not an SSH key ({_stderr_line(proc)})")
    parts = proc.stdout.decode().split()
    kind = parts[-1].strip("()") if parts and parts[-1].startswith("(") else "SSH"
    return f"{kind} key {parts[1]}"


def sign_bytes(data: bytes, key: Path) -> str:
    """An armored SSHSIG of ``data`` in namespace ``reviewer-changelog``.

    The data goes through a private temporary file (not stdin), so ssh-keygen can still ask for
    the key's passphrase on the terminal; a key given as ``.pub`` is used through ssh-agent.
    """
    with tempfile.TemporaryDirectory(prefix="reviewer-sign-") as tmp:
        target = Path(tmp) / "changelog"
        target.write_bytes(data)
        return sign_file(target, key)


def sign_file(target: Path, key: Path) -> str:
    """:func:`sign_bytes` of a file's contents, read by ssh-keygen where it lies (a big export is
    signed without being held in memory). The signature ssh-keygen writes next to it is read
    and removed."""
    exe = ssh_keygen()
    sig = target.with_name(target.name + ".sig")
    try:
        try:
            proc = subprocess.run(
                [exe, "-Y", "sign", "-f", str(key), "-n", NAMESPACE, str(target)],
                capture_output=True, timeout=300,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            raise ReviewerError("ssh-keygen -Y sign did not finish in 300 s") from None
        if proc.returncode != 0 or not sig.is_file():
            raise ReviewerError(f"signing with {key} failed: {_stderr_line(proc)}")
        return sig.read_text(encoding="ascii")
    finally:
        sig.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class SignatureInfo:
    key_type: str  # e.g. "ED25519"
    fingerprint: str  # "SHA256:…", as ssh-keygen -l prints it
    namespace: str


def _ssh_string(blob: bytes, pos: int) -> tuple[bytes, int]:
    if pos + 4 > len(blob):
        raise ValueError("it is cut short")
    n = int.from_bytes(blob[pos : pos + 4], "big")
    if pos + 4 + n > len(blob):
        raise ValueError("it is cut short")
    return blob[pos + 4 : pos + 4 + n], pos + 4 + n


class DamagedSignature(VerifyFailed):
    """The signature itself cannot be read (cut, garbled, not SSH armour): not a changed file.
    ``reason`` completes "the signature … is …" (``"garbled: …"``)."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(message or f"the SSH signature is {reason}")
        self.reason = reason


def signature_info(armored: str) -> SignatureInfo:
    """Read the signer's public key and namespace out of an SSHSIG (PROTOCOL.sshsig) without
    verifying anything, to name the key in messages.

    The whole structure is checked (armour, base64, every field, no trailing bytes), so a damaged
    signature is reported as damaged here rather than as "changed after signing" by ssh-keygen.
    Raises :class:`DamagedSignature` (a ``VerifyFailed``) with the reason.
    """
    body = armored.strip()
    if not body.startswith(_ARMOR_BEGIN):
        first = body.splitlines()[0][:60] if body else ""
        raise DamagedSignature(
            f"not an SSH signature: it does not start with {_ARMOR_BEGIN}"
            + (f" (it starts with {first!r})" if first else " (it is empty)")
        )
    if not body.endswith(_ARMOR_END):
        raise DamagedSignature(f"cut short: no {_ARMOR_END} line at its end")
    b64 = "".join(body[len(_ARMOR_BEGIN) : -len(_ARMOR_END)].split())
    try:
        blob = base64.b64decode(b64, validate=True)
    except ValueError:  # binascii.Error
        bad = re.search(r"[^A-Za-z0-9+/=]", b64)
        why = f"a character that is not base64 ({bad.group()!r})" if bad else "base64 of a wrong length: lines are missing or cut"
        raise DamagedSignature(f"garbled: {why}") from None
    try:
        if blob[:6] != b"SSHSIG":
            raise ValueError("it does not start with SSHSIG")
        if blob[6:10] != b"\x00\x00\x00\x01":
            raise ValueError("unknown SSHSIG version")
        pubkey, pos = _ssh_string(blob, 10)
        namespace, pos = _ssh_string(blob, pos)
        _reserved, pos = _ssh_string(blob, pos)
        hash_alg, pos = _ssh_string(blob, pos)
        sig, pos = _ssh_string(blob, pos)
        if pos != len(blob):
            raise ValueError(f"{len(blob) - pos} unexpected bytes after the signature")
        if hash_alg not in (b"sha256", b"sha512"):
            raise ValueError(f"unknown hash algorithm {hash_alg[:20].decode('ascii', 'replace')!r}")
        key_type, _ = _ssh_string(pubkey, 0)
        _sig_type, spos = _ssh_string(sig, 0)
        _raw, spos = _ssh_string(sig, spos)
    except ValueError as e:
        raise DamagedSignature(f"unreadable ({e})") from None
    kind = key_type.decode("ascii", "replace")
    short = {"ssh-ed25519": "ED25519", "ssh-rsa": "RSA", "sk-ssh-ed25519@openssh.com": "ED25519-SK"}.get(kind)
    if short is None:
        short = "ECDSA" if kind.startswith("ecdsa") else ("ECDSA-SK" if kind.startswith("sk-ecdsa") else kind)
    fp = "SHA256:" + base64.b64encode(hashlib.sha256(pubkey).digest()).decode().rstrip("=")
    return SignatureInfo(short, fp, namespace.decode("utf-8", "replace"))


def embed_signature(document: str, armored: str) -> str:
    """Append the signature of ``document`` (all of it) as a collapsed block at the end."""
    m = len(split_lines(document))
    return (
        document
        + f"<!-- reviewer:signature lines={m} -->\n"
        + "<details>\n<summary>SSH signature of lines 1–"
        + f"{m} (namespace <code>{NAMESPACE}</code>)</summary>\n\n"
        + "```text\n"
        + armored.strip()
        + "\n```\n\n</details>\n"
    )


# ---------------------------------------------------------------------------------------------
# Verify
# ---------------------------------------------------------------------------------------------


def default_allowed_signers() -> Path | None:
    """git's ``gpg.ssh.allowedSignersFile``, else ``~/.ssh/allowed_signers`` when it exists."""
    configured = _git_config("gpg.ssh.allowedSignersFile")
    if configured:
        return Path(configured).expanduser()
    home = Path("~/.ssh/allowed_signers").expanduser()
    return home if home.is_file() else None


@dataclass(frozen=True, slots=True)
class VerifyReport:
    principal: str
    key: SignatureInfo
    body_digest: str | None  # checked digest (None: the file has no sign-off block, e.g. JSON)
    body_lines: int | None
    embedded: bool

    def summary(self, name: str) -> str:
        how = "embedded signature" if self.embedded else "detached signature"
        digest = f"; body digest sha256 {self.body_digest[:16]}… (lines 1–{self.body_lines}) matches" if self.body_digest else ""
        return f"{name}: good {how} by {self.principal} ({self.key.key_type} key {self.key.fingerprint}){digest}"


#: What ``ssh-keygen -Y verify`` / ``find-principals`` print (OpenSSH 8.2–9.x, sshsig.c), mapped
#: to what happened. Each line of its stderr is looked at; "Could not verify signature." and
#: "No principal matched." are only its summaries.
_SSH_SIGNERS_LINE_RE = re.compile(r"^(?P<file>.*):(?P<line>\d+): (?P<what>.+)$")
_SSH_NOT_PERMITTED = "key is not permitted for use in signature namespace"
_SSH_DAMAGED = (
    "sshsig_dearmor", "sshsig_armor", "Couldn't parse signature", "parse signature object",
    "invalid format", "incomplete message", "missing header", "missing footer", "sshsig_get_pubkey",
    "unknown or unsupported key type",
)  # fmt: skip
_SSH_MISMATCH = "incorrect signature"
_SSH_SUMMARIES = ("Could not verify signature.", "No principal matched.")


def _ssh_lines(proc: subprocess.CompletedProcess[bytes]) -> list[str]:
    return [ln.strip() for ln in proc.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]


def _signers_problem(lines: list[str], signers: Path) -> tuple[str, int, str] | None:
    """A complaint of ssh-keygen about a line of the allowed-signers file: (file, line, what)."""
    for ln in lines:
        m = _SSH_SIGNERS_LINE_RE.match(ln)
        if m and m["file"] == str(signers):
            return m["file"], int(m["line"]), m["what"]
    return None


def _namespaces_option(signers: Path, line: int) -> str | None:
    try:
        text = signers.read_text(encoding="utf-8", errors="replace").split("\n")[line - 1]
    except (OSError, IndexError):
        return None
    m = re.search(r'(?:^|[\s,])namespaces="([^"]*)"', text)
    return m.group(1) if m else None


def _namespace_refused(name: str, what: str, signers: Path, file: str, line: int) -> VerifyFailed:
    ns = _namespaces_option(signers, line)
    shown = f'namespaces="{ns}"' if ns is not None else "a namespaces= option"
    return VerifyFailed(
        f"{name}: {what}, but {file}:{line} allows that key only for {shown}, which does not include "
        f"{NAMESPACE}: add {NAMESPACE} to that option to trust this key for changelogs"
    )


def _explain_verify_failure(
    name: str, principal: str, signers: Path, where: str, sig_name: str, proc: subprocess.CompletedProcess[bytes]
) -> VerifyFailed:
    """One line saying why ``ssh-keygen -Y verify`` refused, from what it printed."""
    lines = _ssh_lines(proc)
    problem = _signers_problem(lines, signers)
    if problem is not None:
        file, line, what = problem
        if what.startswith(_SSH_NOT_PERMITTED):
            return _namespace_refused(name, f"the signature by {principal} is intact", signers, file, line)
        return VerifyFailed(f"{name}: {principal} is not trusted for this signature: {file}:{line}: {what}")
    if any(marker in ln for ln in lines for marker in _SSH_DAMAGED):
        detail = next(ln for ln in lines if any(marker in ln for marker in _SSH_DAMAGED))
        reason = f"unreadable (ssh-keygen: {detail})"
        return DamagedSignature(reason, f"{name}: the signature {sig_name} is {reason}")
    if any(_SSH_MISMATCH in ln for ln in lines):
        return VerifyFailed(
            f"{name}: the signature by {principal} does not match {where}: changed after signing, "
            "or the signature itself was altered (ssh-keygen: incorrect signature)"
        )
    detail = "; ".join(ln for ln in lines if ln not in _SSH_SUMMARIES) or "; ".join(lines)
    return VerifyFailed(
        f"{name}: ssh-keygen -Y verify refused the signature by {principal} ({detail or f'exit status {proc.returncode}'})"
    )


class _LineEndingsChanged(Exception):
    """Internal: a file to check has CRLF line endings; verify_file checks again with LF."""


def verify_file(path: Path, *, allowed_signers: Path | None = None, signature: Path | None = None) -> VerifyReport:
    """Check the body digest, then the signature, and name the signer.

    The bytes are checked exactly as they are, as plain ``ssh-keygen -Y verify`` does: a changelog
    or ``.sig`` whose line endings were converted to CRLF fails (we never write ``\\r``). When
    that is the only change (the LF form verifies), the reason says so.

    Raises ``UsageError`` for what the user must fix (missing file, no allowed-signers file) and
    ``VerifyFailed`` with a one-line reason when the file is not exactly what was signed.
    """
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{name}: no such file") from None
    except OSError as e:
        raise UsageError(f"{name}: {e.strerror or e}") from None
    try:
        return _verify_bytes(name, path, raw, allowed_signers, signature, converted=None)
    except _LineEndingsChanged:
        pass
    converted: list[tuple[str, int]] = []
    try:
        _verify_bytes(name, path, raw, allowed_signers, signature, converted=converted)
    except VerifyFailed as e:
        files = " and ".join(f for f, _ in converted)
        raise VerifyFailed(f"{e}; besides, the line endings of {files} were changed to CRLF") from None
    files = " and ".join(f"{f} ({n} lines)" for f, n in converted)
    plain = " ".join(f for f, _ in converted)
    raise VerifyFailed(
        f"{name}: the line endings of {files} were changed to CRLF after signing (git's core.autocrlf "
        "does this): ssh-keygen -Y verify rejects that too. With LF endings it is exactly what was signed: "
        f"run `sed -i 's/\\r$//' {plain}` and mark {'them' if len(converted) > 1 else 'it'} `-text` in .gitattributes"
    )


def _lf(data: bytes, what: str, converted: list[tuple[str, int]] | None) -> bytes:
    """``data`` as is; or, on the second pass, with CRLF read as LF (noting the file)."""
    if b"\r\n" not in data:
        return data
    if converted is None:
        raise _LineEndingsChanged
    converted.append((what, data.count(b"\r\n")))
    return data.replace(b"\r\n", b"\n")


def _verify_bytes(
    name: str, path: Path, raw: bytes, allowed_signers: Path | None, signature: Path | None,
    *, converted: list[tuple[str, int]] | None,
) -> VerifyReport:  # fmt: skip
    raw = _lf(raw, name, converted)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise VerifyFailed(f"{name}: not UTF-8 text (byte {e.start}): it was changed after export") from None
    layout = parse_layout(text, name)

    if layout.body_lines is not None:
        actual = body_digest(layout.body)
        if actual != layout.recorded_digest:
            raise VerifyFailed(
                f"{name}: the body changed after export: lines 1–{layout.body_lines} hash to sha256 "
                f"{actual[:16]}…, the sign-off block records {layout.recorded_digest[:16]}…"  # type: ignore[index]
            )
    elif path.suffix.lower() in (".md", ".markdown"):
        raise VerifyFailed(f"{name}: no sign-off block found (not a reviewer changelog, or its end was cut)")

    if layout.embedded_signature is not None:
        armored, data, embedded = layout.embedded_signature, layout.signed_part.encode("utf-8"), True
        sig_name = f"embedded after line {layout.signed_lines}"
    else:
        sig_path = signature or path.with_name(path.name + ".sig")
        if not sig_path.is_file():
            what = "its body digest matches, but " if layout.body_lines is not None else ""
            raise VerifyFailed(f"{name}: {what}it is not signed (no embedded signature and no {sig_path})")
        try:
            sig_bytes = sig_path.read_bytes()
        except OSError as e:
            raise UsageError(f"{sig_path}: {e.strerror or e}") from None
        armored = _lf(sig_bytes, str(sig_path), converted).decode("utf-8", errors="replace")
        data, embedded, sig_name = raw, False, str(sig_path)

    try:
        info = signature_info(armored)
    except DamagedSignature as e:
        raise DamagedSignature(e.reason, f"{name}: the signature {sig_name} is {e.reason}") from None
    if info.namespace != NAMESPACE:
        raise VerifyFailed(f"{name}: the signature is for namespace {info.namespace!r}, not {NAMESPACE!r}")
    signers = allowed_signers or default_allowed_signers()
    if signers is None:
        raise UsageError(
            f"{name} is signed by {info.key_type} key {info.fingerprint}: pass --allowed-signers FILE "
            "(one line per signer: EMAIL ssh-ed25519 AAAA…) to check who that is"
        )
    if not signers.is_file():
        raise UsageError(f"{signers}: no such allowed-signers file")

    exe = ssh_keygen()
    with tempfile.TemporaryDirectory(prefix="reviewer-verify-") as tmp:
        sig_file = Path(tmp) / "changelog.sig"
        sig_file.write_text(armored, encoding="utf-8")
        found = _run([exe, "-Y", "find-principals", "-s", str(sig_file), "-f", str(signers)])
        principals = [p for line in found.stdout.decode().splitlines() for p in line.split(",") if p.strip()]
        if found.returncode != 0 or not principals:
            signer = f"{name}: signed by {info.key_type} key {info.fingerprint}"
            lines = _ssh_lines(found)
            unreadable = next((ln for ln in lines if any(marker in ln for marker in _SSH_DAMAGED)), None)
            if unreadable is not None:  # ssh-keygen cannot read the signature it was given
                reason = f"unreadable (ssh-keygen: {unreadable})"
                raise DamagedSignature(reason, f"{name}: the signature {sig_name} is {reason}")
            problem = _signers_problem(lines, signers)
            if problem is not None and problem[2].startswith(_SSH_NOT_PERMITTED):  # older OpenSSH checks it here
                raise _namespace_refused(name, f"signed by {info.key_type} key {info.fingerprint}", signers, *problem[:2])
            if problem is not None:  # e.g. "key has expired", "missing key"
                raise VerifyFailed(f"{signer}, which {signers} does not trust ({problem[0]}:{problem[1]}: {problem[2]})")
            raise VerifyFailed(f"{signer}, which is not in {signers}")
        principal = principals[0].strip()
        checked = _run(
            [exe, "-Y", "verify", "-f", str(signers), "-I", principal, "-n", NAMESPACE, "-s", str(sig_file)],
            data=data,
        )
    if checked.returncode != 0:
        where = f"lines 1–{layout.signed_lines}" if embedded else "the file"
        raise _explain_verify_failure(name, principal, signers, where, sig_name, checked)
    return VerifyReport(
        principal=principal, key=info, body_digest=layout.recorded_digest if layout.body_lines is not None else None,
        body_lines=layout.body_lines, embedded=embedded,
    )  # fmt: skip


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``, never half-written (:func:`reviewer.fsutil.atomic_write_bytes`)."""
    atomic_write_bytes(path, data)
