"""`reviewer verify` says what is wrong, as plain `ssh-keygen -Y verify` sees it.

Each test signs a real changelog with a throwaway ed25519 key made by ssh-keygen, damages the
signature, the allowed-signers file or the line endings the way a user or a tool would, then runs
both `reviewer verify` and plain `ssh-keygen -Y verify` (the README's way without reviewer) on the
same files: they must agree, and reviewer must name the cause. `reviewer verify` runs as a real
process where its exit code is first checked (the pristine files: 0; a damaged .sig: 1), elsewhere
as main() in the test's process (tests/cli_inprocess.py: the same exit code and output).
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_inprocess import run_main
from test_export import ADA, ROOT, make_comparison

from reviewer.export.signing import NAMESPACE, DamagedSignature, signature_info

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen is not installed")

PRINCIPAL = "ada@example.com"


def keygen(tmp: Path, name: str) -> tuple[Path, str]:
    key = tmp / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", PRINCIPAL, "-f", str(key)], check=True)
    kind, blob = (tmp / f"{name}.pub").read_text().split()[:2]
    return key, f"{kind} {blob}"


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    """One store, one key, and pristine signed exports (detached .md and .json, embedded .md)."""
    tmp = tmp_path_factory.mktemp("verify")
    store, _ = make_comparison(tmp)
    store.close()
    key, pub = keygen(tmp, "ada_key")
    env = isolated_env(tmp)
    for out, extra in (("D.md", []), ("E.md", ["--embed-signature"]), ("J.json", [])):
        proc = reviewer(tmp, env, "export", "--db", str(tmp / "reviewer.db"), "-o", out, "--sign", str(key), "--as", ADA, *extra)
        assert proc.returncode == 0, proc.stderr
    return tmp, pub


def isolated_env(tmp: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GIT_CONFIG_GLOBAL": str(tmp / "gitconfig"), "GIT_CONFIG_NOSYSTEM": "1",
           "HOME": str(tmp / "home")}  # fmt: skip
    for var in ("REVIEWER_DB", "REVIEWER_DATA_DIR", "REVIEWER_CONFIG_DIR"):
        env[var] = str(tmp / var.lower())
    return env


def reviewer(cwd: Path, env: dict[str, str], *argv: str, process: bool = False) -> subprocess.CompletedProcess[str]:
    """``reviewer ARGS``: in a real process with ``process=True``, else main() in this one."""
    if not process:
        return run_main(argv, env=env, cwd=cwd)
    return subprocess.run(
        [sys.executable, "-m", "reviewer", *argv], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )


@pytest.fixture
def case(signed, tmp_path):
    """A fresh copy of the signed files and a correct allowed_signers, in this test's own dir."""
    src, pub = signed
    for name in ("D.md", "D.md.sig", "E.md", "J.json", "J.json.sig"):
        shutil.copyfile(src / name, tmp_path / name)
    (tmp_path / "allowed_signers").write_text(f"{PRINCIPAL} {pub}\n")
    return tmp_path, pub, isolated_env(tmp_path)


def verify(tmp: Path, env: dict[str, str], name: str, signers: str = "allowed_signers", process: bool = False) -> tuple[int, str]:
    proc = reviewer(tmp, env, "verify", name, "--allowed-signers", signers, process=process)
    out = (proc.stdout + proc.stderr).strip()
    assert "Traceback" not in out and len(out.splitlines()) == 1, out
    return proc.returncode, out


def plain(tmp: Path, doc: str, sig: str, signers: str = "allowed_signers") -> subprocess.CompletedProcess[bytes]:
    """The README's command without reviewer: ssh-keygen -Y verify … -s SIG < DOC."""
    with open(tmp / doc, "rb") as f:
        return subprocess.run(
            ["ssh-keygen", "-Y", "verify", "-f", signers, "-I", PRINCIPAL, "-n", NAMESPACE, "-s", sig],
            stdin=f, capture_output=True, cwd=tmp, timeout=60,
        )  # fmt: skip


def armor_lines(sig: Path) -> list[str]:
    lines = sig.read_text().splitlines()
    assert lines[0] == "-----BEGIN SSH SIGNATURE-----" and lines[-1] == "-----END SSH SIGNATURE-----"
    return lines


def test_pristine_files_verify_both_ways(case):
    tmp, _, env = case
    assert verify(tmp, env, "D.md", process=True)[0] == 0
    assert verify(tmp, env, "J.json")[0] == 0
    assert plain(tmp, "D.md", "D.md.sig").returncode == 0


# -- a damaged .sig ------------------------------------------------------------------------------


def _garble(lines: list[str]) -> list[str]:
    return [lines[0], lines[1][:20] + "!*" + lines[1][22:], *lines[2:]]


def _truncate(lines: list[str]) -> list[str]:  # a middle line lost, the armour intact
    return [lines[0], lines[1], lines[2], lines[-1]]


def _cut(lines: list[str]) -> list[str]:  # the end of the file lost
    return lines[:3]


def _pgp(lines: list[str]) -> list[str]:  # someone else's armour
    return ["-----BEGIN PGP SIGNATURE-----", *lines[1:-1], "-----END PGP SIGNATURE-----"]


def _trailing(lines: list[str]) -> list[str]:  # extra bytes after the signature, base64 still valid
    blob = base64.b64decode("".join(lines[1:-1])) + b"\x00\x00\x00\x04junk"
    b64 = base64.b64encode(blob).decode()
    return [lines[0], *(b64[i : i + 70] for i in range(0, len(b64), 70)), lines[-1]]


@pytest.mark.parametrize(
    "damage, reason",
    [
        (_garble, "garbled: a character that is not base64 ('!')"),
        (_truncate, "unreadable (it is cut short)"),
        (_cut, "cut short: no -----END SSH SIGNATURE----- line at its end"),
        (
            _pgp,
            "not an SSH signature: it does not start with -----BEGIN SSH SIGNATURE----- (it starts with '-----BEGIN PGP SIGNATURE-----')",
        ),
        (_trailing, "unreadable (8 unexpected bytes after the signature)"),
        (lambda lines: [], "not an SSH signature: it does not start with -----BEGIN SSH SIGNATURE----- (it is empty)"),
    ],
    ids=["garbled-base64", "line-lost", "end-cut", "pgp-armour", "trailing-bytes", "empty"],
)
def test_a_damaged_sig_is_reported_as_damaged_not_as_a_changed_file(case, damage, reason):
    tmp, _, env = case
    sig = tmp / "D.md.sig"
    sig.write_text("\n".join(damage(armor_lines(sig))) + "\n")
    ssh = plain(tmp, "D.md", "D.md.sig")
    assert ssh.returncode != 0  # ssh-keygen refuses it too: `Couldn't parse signature`, `incomplete message`…
    assert b"incorrect signature" not in ssh.stderr  # …and it does not call it a mismatch either
    code, out = verify(tmp, env, "D.md", process=damage is _garble)
    assert code == 1
    assert out == f"reviewer verify: D.md: the signature {sig.name} is {reason}"


def test_a_damaged_embedded_signature_is_reported_as_damaged(case):
    tmp, _, env = case
    doc = tmp / "E.md"
    text = doc.read_text(encoding="utf-8")
    head, sep, tail = text.partition("-----BEGIN SSH SIGNATURE-----\n")
    doc.write_text(head + sep + tail[:10] + "%" + tail[11:], encoding="utf-8")
    code, out = verify(tmp, env, "E.md")
    assert code == 1 and "the signature embedded after line " in out
    assert out.endswith(" is garbled: a character that is not base64 ('%')")


def test_the_signature_bytes_themselves_altered_read_as_a_mismatch_as_ssh_keygen_says(case):
    """A flipped bit inside the signature value is indistinguishable from a changed file (that is
    what a signature is); both tools report a mismatch, and reviewer says it may be either."""
    tmp, _, env = case
    sig = tmp / "D.md.sig"
    lines = armor_lines(sig)
    blob = bytearray(base64.b64decode("".join(lines[1:-1])))
    blob[-3] ^= 0x01  # inside the ed25519 signature value at the end of the blob
    b64 = base64.b64encode(bytes(blob)).decode()
    sig.write_text("\n".join([lines[0], *(b64[i : i + 70] for i in range(0, len(b64), 70)), lines[-1]]) + "\n")
    ssh = plain(tmp, "D.md", "D.md.sig")
    assert ssh.returncode != 0 and b"incorrect signature" in ssh.stderr
    code, out = verify(tmp, env, "D.md")
    assert code == 1
    assert out == (
        f"reviewer verify: D.md: the signature by {PRINCIPAL} does not match the file: changed after signing, "
        "or the signature itself was altered (ssh-keygen: incorrect signature)"
    )


def test_a_signature_ssh_keygen_cannot_read_is_reported_with_its_words(case):
    """A well-formed SSHSIG whose key type ssh-keygen does not know: reviewer's own parser
    accepts it, ssh-keygen refuses it, and reviewer passes on ssh-keygen's reason."""
    tmp, _, env = case
    sig = tmp / "D.md.sig"
    lines = armor_lines(sig)
    blob = base64.b64decode("".join(lines[1:-1])).replace(b"ssh-ed25519", b"ssh-ed25518", 1)
    b64 = base64.b64encode(blob).decode()
    sig.write_text("\n".join([lines[0], *(b64[i : i + 70] for i in range(0, len(b64), 70)), lines[-1]]) + "\n")
    ssh = plain(tmp, "D.md", "D.md.sig")
    assert ssh.returncode != 0 and b"unknown or unsupported key type" in ssh.stderr
    code, out = verify(tmp, env, "D.md")
    assert code == 1
    assert out.startswith("reviewer verify: D.md: the signature D.md.sig is unreadable (ssh-keygen: ")
    assert "unknown or unsupported key type" in out


# -- allowed_signers that does not allow this namespace -------------------------------------------


@pytest.mark.parametrize("namespaces", ["other", "git,other"])
def test_a_namespace_restriction_in_allowed_signers_is_named(case, namespaces):
    tmp, pub, env = case
    (tmp / "allowed_signers").write_text(f'# team keys\n{PRINCIPAL} namespaces="{namespaces}" {pub}\n')
    ssh = plain(tmp, "D.md", "D.md.sig")
    assert ssh.returncode != 0 and b"not permitted for use in signature namespace" in ssh.stderr
    for doc in ("D.md", "E.md", "J.json"):
        code, out = verify(tmp, env, doc)
        assert code == 1
        assert out == (
            f"reviewer verify: {doc}: the signature by {PRINCIPAL} is intact, but allowed_signers:2 allows that key "
            f'only for namespaces="{namespaces}", which does not include {NAMESPACE}: add {NAMESPACE} to that '
            "option to trust this key for changelogs"
        )
    (tmp / "allowed_signers").write_text(f'{PRINCIPAL} namespaces="{namespaces},{NAMESPACE}" {pub}\n')
    assert verify(tmp, env, "D.md")[0] == 0 and plain(tmp, "D.md", "D.md.sig").returncode == 0


def test_an_expired_signer_line_is_named(case):
    tmp, pub, env = case
    (tmp / "allowed_signers").write_text(f'{PRINCIPAL} valid-before="20200101" {pub}\n')
    assert plain(tmp, "D.md", "D.md.sig").returncode != 0
    code, out = verify(tmp, env, "D.md")
    assert code == 1
    assert "which allowed_signers does not trust (allowed_signers:1: key has expired" in out


# -- CRLF line endings ----------------------------------------------------------------------------


def crlf(path: Path) -> None:
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))


@pytest.mark.parametrize("doc", ["D.md", "J.json"])
def test_crlf_changelog_is_rejected_by_both_and_the_cause_named(case, doc):
    tmp, _, env = case
    lines = (tmp / doc).read_bytes().count(b"\n")
    crlf(tmp / doc)
    ssh = plain(tmp, doc, f"{doc}.sig")
    assert ssh.returncode != 0 and b"incorrect signature" in ssh.stderr
    code, out = verify(tmp, env, doc)
    assert code == 1
    assert out.startswith(f"reviewer verify: {doc}: the line endings of {doc} ({lines} lines) were changed to CRLF after signing")
    assert f"run `sed -i 's/\\r$//' {doc}`" in out
    # the advice works, and then both agree again
    subprocess.run(["sed", "-i", "s/\\r$//", doc], cwd=tmp, check=True)
    assert verify(tmp, env, doc)[0] == 0 and plain(tmp, doc, f"{doc}.sig").returncode == 0


def test_crlf_sig_is_rejected_by_both(case):
    tmp, _, env = case
    crlf(tmp / "D.md.sig")
    ssh = plain(tmp, "D.md", "D.md.sig")
    assert ssh.returncode != 0 and b"missing header" in ssh.stderr
    code, out = verify(tmp, env, "D.md")
    assert code == 1 and "the line endings of D.md.sig (6 lines) were changed to CRLF" in out


def test_crlf_on_both_files_names_both(case):
    tmp, _, env = case
    crlf(tmp / "D.md")
    crlf(tmp / "D.md.sig")
    code, out = verify(tmp, env, "D.md")
    assert code == 1 and "the line endings of D.md (" in out and " and D.md.sig (6 lines) were changed to CRLF" in out
    assert "mark them `-text`" in out


def test_crlf_embedded_is_rejected_by_both(case):
    tmp, _, env = case
    doc = tmp / "E.md"
    m = next(int(line.split("lines=")[1].split()[0]) for line in doc.read_text().splitlines()
             if line.startswith("<!-- reviewer:signature lines="))  # fmt: skip
    crlf(doc)
    # the plain route the document prints: head -n M > signed.md, the armour > signed.md.sig
    subprocess.run(f"head -n {m} E.md > signed.md", shell=True, cwd=tmp, check=True)
    subprocess.run("sed -n '/^-----BEGIN SSH SIGNATURE-----/,/^-----END SSH SIGNATURE-----/p' E.md | tr -d '\\r' > signed.md.sig",
                   shell=True, cwd=tmp, check=True)  # fmt: skip
    assert plain(tmp, "signed.md", "signed.md.sig").returncode != 0
    code, out = verify(tmp, env, "E.md")
    assert code == 1 and "the line endings of E.md (" in out and "were changed to CRLF after signing" in out


def test_crlf_and_a_changed_byte_reports_the_change_and_the_line_endings(case):
    tmp, _, env = case
    doc = tmp / "D.md"
    doc.write_bytes(doc.read_bytes().replace(b"2 negative flips", b"0 negative flips", 1))
    crlf(doc)
    assert plain(tmp, "D.md", "D.md.sig").returncode != 0
    code, out = verify(tmp, env, "D.md")
    assert code == 1 and "the body changed after export" in out
    assert out.endswith("; besides, the line endings of D.md were changed to CRLF")


# -- untrusted names are printed visibly ------------------------------------------------------------


def test_a_principal_with_terminal_escapes_is_printed_visibly(case):
    tmp, pub, env = case
    (tmp / "allowed_signers").write_text(f"evil\x1b]0;owned\x07@example.com {pub}\n")
    proc = reviewer(tmp, env, "verify", "D.md", "--allowed-signers", "allowed_signers")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("D.md: good detached signature by evil␛]0;owned␇@example.com (ED25519 key ")
    assert "\x1b" not in proc.stdout + proc.stderr


def test_a_sig_file_name_with_escapes_is_printed_visibly(case):
    tmp, _, env = case
    odd = "x\x1b[2Jy.sig"
    (tmp / odd).write_text("not a signature\n")
    proc = reviewer(tmp, env, "verify", "D.md", "--allowed-signers", "allowed_signers", "--signature", odd)
    assert proc.returncode == 1 and "\x1b" not in proc.stderr and "x␛[2Jy.sig" in proc.stderr


def test_signature_info_refuses_what_ssh_keygen_cannot_parse():
    with pytest.raises(DamagedSignature, match="not base64"):
        signature_info("-----BEGIN SSH SIGNATURE-----\nnot base64!\n-----END SSH SIGNATURE-----\n")
    with pytest.raises(DamagedSignature, match="does not start with SSHSIG"):
        signature_info(
            "-----BEGIN SSH SIGNATURE-----\n" + base64.b64encode(b"HELLO!" * 4).decode() + "\n-----END SSH SIGNATURE-----"
        )
