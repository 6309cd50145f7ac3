"""Signing and verifying changelogs with a throwaway SSH key made by ssh-keygen in the test:
detached and embedded signatures, the plain ssh-keygen route printed in the document itself, and
tampering (any changed byte fails with a one-line reason)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_export import ADA, make_comparison

from reviewer.export.signing import (
    NAMESPACE,
    VerifyFailed,
    body_digest,
    parse_layout,
    sign_bytes,
    signature_info,
    verify_file,
)

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen is not installed")


def keygen(tmp: Path, name: str, email: str) -> tuple[Path, str]:
    key = tmp / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", email, "-f", str(key)], check=True)
    pub = (tmp / f"{name}.pub").read_text().split()
    return key, f"{email} {pub[0]} {pub[1]}\n"


@pytest.fixture
def env(tmp_path, monkeypatch):
    for var in ("REVIEWER_DB", "REVIEWER_DATA_DIR", "REVIEWER_CONFIG_DIR"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    store, _ = make_comparison(tmp_path)
    store.close()
    key, line = keygen(tmp_path, "ada_key", "ada@example.com")
    (tmp_path / "allowed_signers").write_text(line)
    return tmp_path, key


def cli(*argv: str) -> int:
    from reviewer.cli import main

    return main(list(argv))


def export(tmp: Path, key: Path, out: str = "CHANGELOG.md", *extra: str) -> Path:
    assert cli("export", "--db", str(tmp / "reviewer.db"), "-o", out, "--sign", str(key), "--as", ADA, *extra) == 0
    return tmp / out


def verify(tmp: Path, name: str, capsys) -> tuple[int, str, str]:
    capsys.readouterr()  # drop what export printed
    code = cli("verify", name, "--allowed-signers", str(tmp / "allowed_signers"))
    out = capsys.readouterr()
    return code, out.out.strip(), out.err.strip()


def test_detached_signature_verifies_and_names_the_signer(env, capsys):
    tmp, key = env
    doc = export(tmp, key)
    assert (tmp / "CHANGELOG.md.sig").read_text().startswith("-----BEGIN SSH SIGNATURE-----")
    code, out, err = verify(tmp, "CHANGELOG.md", capsys)
    assert code == 0, err
    fp = subprocess.run(["ssh-keygen", "-l", "-f", str(key)], capture_output=True, text=True).stdout.split()[1]
    assert out.startswith(f"CHANGELOG.md: good detached signature by ada@example.com (ED25519 key {fp})")
    layout = parse_layout(doc.read_text(encoding="utf-8"))
    assert f"body digest sha256 {layout.recorded_digest[:16]}… (lines 1–{layout.body_lines}) matches" in out


def run_document_commands(tmp: Path, doc: Path) -> list[subprocess.CompletedProcess[str]]:
    """Run the shell commands the sign-off block prints (all but `reviewer verify`), as a reader would."""
    text = doc.read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)\n```", text, re.S).group(1)
    results = []
    for line in block.splitlines():
        if line.startswith("reviewer "):
            continue
        results.append(subprocess.run(["bash", "-c", line], cwd=tmp, capture_output=True, text=True, timeout=60))
    return results


def test_plain_ssh_keygen_route_in_the_document_works_detached(env):
    tmp, key = env
    doc = export(tmp, key)
    results = run_document_commands(tmp, doc)
    assert results[-1].returncode == 0, results[-1].stderr
    assert f'Good "{NAMESPACE}" signature for ada@example.com' in results[-1].stdout


def test_plain_ssh_keygen_route_in_the_document_works_embedded(env, capsys):
    tmp, key = env
    doc = export(tmp, key, "EMBEDDED.md", "--embed-signature")
    assert not (tmp / "EMBEDDED.md.sig").exists()
    results = run_document_commands(tmp, doc)
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    assert f'Good "{NAMESPACE}" signature for ada@example.com' in results[-1].stdout
    code, out, _ = verify(tmp, "EMBEDDED.md", capsys)
    assert code == 0 and "good embedded signature by ada@example.com" in out


def test_body_digest_line_checks_with_sha256sum(env):
    tmp, key = env
    doc = export(tmp, key)
    text = doc.read_text(encoding="utf-8")
    cmd = re.search(r"Check it without reviewer: `(head -n \d+ CHANGELOG.md \| sha256sum)`", text).group(1)
    out = subprocess.run(["bash", "-c", cmd], cwd=tmp, capture_output=True, text=True).stdout.split()[0]
    assert out == parse_layout(text).recorded_digest


def flip_byte(path: Path, needle: bytes, replacement: bytes) -> None:
    data = path.read_bytes()
    assert needle in data
    path.write_bytes(data.replace(needle, replacement, 1))


@pytest.mark.parametrize("embedded", [False, True])
def test_a_changed_byte_in_the_body_fails_the_digest(env, capsys, embedded):
    tmp, key = env
    doc = export(tmp, key, "C.md", *(["--embed-signature"] if embedded else []))
    flip_byte(doc, b"2 negative flips", b"0 negative flips")
    code, out, err = verify(tmp, "C.md", capsys)
    assert code == 1 and out == ""
    assert re.fullmatch(
        r"reviewer verify: C\.md: the body changed after export: lines 1–\d+ hash to sha256 [0-9a-f]{16}…, "
        r"the sign-off block records [0-9a-f]{16}…",
        err,
    ), err


@pytest.mark.parametrize("embedded", [False, True])
def test_a_changed_byte_in_the_signoff_block_fails_the_signature(env, capsys, embedded):
    tmp, key = env
    doc = export(tmp, key, "C.md", *(["--embed-signature"] if embedded else []))
    flip_byte(doc, b"Not signed off yet", b"Not signed off yes")  # after the body: the digest still matches
    code, _, err = verify(tmp, "C.md", capsys)
    assert code == 1
    assert err.startswith("reviewer verify: C.md: the signature by ada@example.com does not match ")
    assert "changed after signing" in err and len(err.splitlines()) == 1


def test_a_damaged_signature_fails(env, capsys):
    tmp, key = env
    export(tmp, key)
    sig = tmp / "CHANGELOG.md.sig"
    lines = sig.read_text().splitlines()
    lines[2] = lines[2][:10] + ("A" if lines[2][10] != "A" else "B") + lines[2][11:]
    sig.write_text("\n".join(lines) + "\n")
    code, _, err = verify(tmp, "CHANGELOG.md", capsys)
    assert code == 1 and err.startswith("reviewer verify: CHANGELOG.md: ")
    assert len(err.splitlines()) == 1


def test_lines_added_to_the_body_are_reported_as_such(env, capsys):
    tmp, key = env
    doc = export(tmp, key)
    text = doc.read_text(encoding="utf-8")
    doc.write_text(text.replace("## Verdict\n", "## Verdict\n\nAll good, ship it!\n", 1), encoding="utf-8")
    code, _, err = verify(tmp, "CHANGELOG.md", capsys)
    assert code == 1 and "lines were added to or removed from the body" in err


def test_a_signer_not_in_allowed_signers_is_named_by_key(env, capsys):
    tmp, _key = env
    mallory, _ = keygen(tmp, "mallory_key", "mallory@example.com")
    export(tmp, mallory)
    code, _, err = verify(tmp, "CHANGELOG.md", capsys)
    fp = subprocess.run(["ssh-keygen", "-l", "-f", str(mallory)], capture_output=True, text=True).stdout.split()[1]
    assert code == 1
    assert err == f"reviewer verify: CHANGELOG.md: signed by ED25519 key {fp}, which is not in {tmp / 'allowed_signers'}"


def test_a_signature_for_another_namespace_is_refused(env, capsys):
    tmp, key = env
    export(tmp, key)
    doc = tmp / "CHANGELOG.md"
    (tmp / "CHANGELOG.md.sig").unlink()
    subprocess.run(["ssh-keygen", "-Y", "sign", "-f", str(key), "-n", "git", str(doc)], check=True, capture_output=True)
    code, _, err = verify(tmp, "CHANGELOG.md", capsys)
    assert code == 1 and "the signature is for namespace 'git', not 'reviewer-changelog'" in err


def test_unsigned_export_is_reported_and_a_stale_sig_removed(env, capsys):
    tmp, key = env
    export(tmp, key)
    assert cli("export", "--db", str(tmp / "reviewer.db"), "-o", "CHANGELOG.md", "--as", ADA) == 0
    assert "removed the stale" in capsys.readouterr().err
    assert not (tmp / "CHANGELOG.md.sig").exists()
    code, _, err = verify(tmp, "CHANGELOG.md", capsys)
    assert code == 1
    assert err == (
        "reviewer verify: CHANGELOG.md: its body digest matches, but it is not signed "
        "(no embedded signature and no CHANGELOG.md.sig)"
    )


def test_crlf_checkout_fails_as_plain_ssh_keygen_does_and_says_why(env, capsys):
    tmp, key = env
    doc = export(tmp, key)
    doc.write_bytes(doc.read_bytes().replace(b"\n", b"\r\n"))
    code, out, err = verify(tmp, "CHANGELOG.md", capsys)
    assert code == 1 and out == ""
    assert "the line endings of CHANGELOG.md (" in err and "were changed to CRLF after signing" in err
    plain = subprocess.run(
        ["ssh-keygen", "-Y", "verify", "-f", "allowed_signers", "-I", "ada@example.com", "-n", NAMESPACE,
         "-s", "CHANGELOG.md.sig"], input=doc.read_bytes(), capture_output=True, cwd=tmp,
    )  # fmt: skip
    assert plain.returncode != 0


def test_json_export_is_signed_detached(env, capsys):
    tmp, key = env
    export(tmp, key, "changelog.json")
    code, out, err = verify(tmp, "changelog.json", capsys)
    assert code == 0, err
    assert out.startswith("changelog.json: good detached signature by ada@example.com") and "body digest" not in out
    flip_byte(tmp / "changelog.json", b'"cases": 7', b'"cases": 8')
    code, _, err = verify(tmp, "changelog.json", capsys)
    assert code == 1 and "changed after signing" in err


def test_a_json_export_that_cannot_be_signed_keeps_the_signed_one(env, capsys, monkeypatch):
    tmp, key = env
    doc = export(tmp, key, "changelog.json")
    before = doc.read_bytes(), (tmp / "changelog.json.sig").read_bytes()
    # a public key alone means "the private half is in ssh-agent": with no agent, signing fails
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    (tmp / "agent_only").mkdir()
    pub = tmp / "agent_only" / "ada_key.pub"
    pub.write_bytes(Path(f"{key}.pub").read_bytes())
    capsys.readouterr()
    code = cli("export", "--db", str(tmp / "reviewer.db"), "-o", "changelog.json", "--sign", str(pub), "--as", ADA)
    assert code != 0 and "signing with" in capsys.readouterr().err
    # written to a temporary file and signed there: the failure replaced nothing and left nothing
    assert (doc.read_bytes(), (tmp / "changelog.json.sig").read_bytes()) == before
    assert not [p for p in os.listdir(tmp) if p.startswith(".changelog.json")]
    assert verify(tmp, "changelog.json", capsys)[0] == 0


def test_allowed_signers_from_git_config_and_usage_errors(env, capsys):
    tmp, key = env
    export(tmp, key)
    assert cli("verify", "CHANGELOG.md") == 2  # no allowed signers anywhere: a usage error naming the key
    err = capsys.readouterr().err
    assert "is signed by ED25519 key SHA256:" in err and "pass --allowed-signers FILE" in err
    (tmp / "gitconfig").write_text(f'[gpg "ssh"]\n\tallowedSignersFile = {tmp / "allowed_signers"}\n')
    assert cli("verify", "CHANGELOG.md") == 0
    assert cli("verify", "nope.md") == 2
    assert "reviewer verify: nope.md: no such file" in capsys.readouterr().err


def test_sign_without_a_key_uses_git_signing_key(env, capsys):
    tmp, key = env
    assert cli("export", "--db", str(tmp / "reviewer.db"), "-o", "C.md", "--sign", "--as", ADA) == 2
    assert "set git config user.signingkey" in capsys.readouterr().err
    (tmp / "gitconfig").write_text(f"[user]\n\tsigningkey = {key}\n")
    assert cli("export", "--db", str(tmp / "reviewer.db"), "-o", "C.md", "--sign", "--as", ADA) == 0
    code, out, _ = verify(tmp, "C.md", capsys)
    assert code == 0 and "by ada@example.com" in out


def test_signature_info_reads_key_and_namespace(tmp_path):
    key, _ = keygen(tmp_path, "k", "x@example.com")
    armored = sign_bytes(b"hello\n", key)
    info = signature_info(armored)
    fp = subprocess.run(["ssh-keygen", "-l", "-f", str(key)], capture_output=True, text=True).stdout.split()[1]
    assert (info.key_type, info.fingerprint, info.namespace) == ("ED25519", fp, NAMESPACE)
    with pytest.raises(VerifyFailed):
        signature_info("-----BEGIN SSH SIGNATURE-----\nnot base64!\n-----END SSH SIGNATURE-----\n")


def test_verify_file_api_on_a_file_without_signoff_block(tmp_path):
    md = tmp_path / "notes.md"
    md.write_text("# Just notes\n")
    with pytest.raises(VerifyFailed, match="no sign-off block found"):
        verify_file(md, allowed_signers=tmp_path / "none")
    assert body_digest("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_files_are_written_with_normal_permissions(env):
    tmp, key = env
    doc = export(tmp, key)
    umask = os.umask(0)
    os.umask(umask)
    assert doc.stat().st_mode & 0o777 == 0o666 & ~umask
