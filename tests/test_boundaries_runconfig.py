"""`run --config` is validated by one pydantic model (RunConfig): every problem is one line naming the
file, the line and the field; unknown keys are errors, as before; a good config still drives the run
(tests/test_cli_run.py::test_config_file_names_both_sides_and_cli_wins)."""

from __future__ import annotations

import pytest

from reviewer.cli import main
from reviewer.commands._run_config import RunConfig, load_run_config
from reviewer.errors import UsageError


@pytest.fixture
def env(tmp_path, monkeypatch):
    for var in ("REVIEWER_DB", "REVIEWER_DATA_DIR", "REVIEWER_CONFIG_DIR"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    suite = tmp_path / "s.yaml"
    suite.write_text("suite: s\ncases:\n  - id: a\n    prompt: hi\n")
    return tmp_path, suite


def run_with(tmp_path, suite, text: str, capsys) -> tuple[int, list[str]]:
    cfg = tmp_path / "reviewer.yaml"
    cfg.write_text(text)
    code = main(["run", str(suite), "--config", str(cfg), "--db", str(tmp_path / "r.db")])
    err = capsys.readouterr().err.splitlines()
    return code, [ln.removeprefix(f"reviewer run: --config {cfg}") for ln in err]


def test_every_problem_names_its_line_and_field(env, capsys):
    tmp_path, suite = env
    code, err = run_with(tmp_path, suite, (
        "baseline:\n  id: 3\n  lable: x\n  params: [1]\n"
        "candidate: [a]\nsamples: true\nconcurrency: 2.5\nparams: 7\nname: {a: 1}\nsampels: 3\n"
    ), capsys)  # fmt: skip
    assert code == 2
    assert err == [
        ":2: baseline.id: expected a string, got 3",
        ":4: baseline.params: expected a mapping",
        ":3: baseline: unknown key 'lable' (known: id, label, params)",
        ":5: candidate: expected a SPEC string or {id: SPEC, label: NAME, params: {...}}",
        ":6: samples: expected a whole number, got True",
        ":7: concurrency: expected a whole number, got 2.5",
        ":8: params: expected a mapping",
        ":9: name: expected a string, got {'a': 1}",
        ":10: unknown key 'sampels' (known: baseline, candidate, concurrency, name, params, samples)",
    ]
    assert not (tmp_path / "r.db").exists()  # refused before the store is opened


@pytest.mark.parametrize(("text", "line"), [("- a\n", ":1: "), ("", ": "), ("# only a comment\n", ": ")])
def test_a_config_that_is_not_a_mapping(env, capsys, text, line):
    tmp_path, suite = env
    code, err = run_with(tmp_path, suite, text, capsys)
    assert (code, err) == (2, [f"{line}expected a mapping with baseline and candidate"])


def test_invalid_yaml_names_its_line(env, capsys):
    tmp_path, suite = env
    code, err = run_with(tmp_path, suite, "baseline: openai:x\ncandidate: [\n", capsys)
    assert code == 2 and len(err) == 1 and err[0].startswith(":3: invalid YAML")


def test_terminal_escapes_in_a_key_are_shown_not_obeyed(env, capsys):
    tmp_path, suite = env
    code, err = run_with(tmp_path, suite, '"\\e[2Jx": 1\n', capsys)
    assert code == 2 and err == [":1: unknown key '\\x1b[2Jx' (known: baseline, candidate, concurrency, name, params, samples)"]
    code, err = run_with(tmp_path, suite, 'name: [1]\nbaseline: {id: "\\e]0;owned\\a"}\n', capsys)
    assert code == 2 and err == [":1: name: expected a string, got [1]"]


def test_a_good_config_reads_as_today(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "baseline: {id: 'openai:old', label: 2024, params: {temperature: 0.1}}\ncandidate: openai:new\nparams: null\nname: 7\n"
    )
    got = load_run_config(cfg)
    assert got.baseline is not None and got.candidate is not None
    assert (got.baseline.id, got.baseline.label, got.baseline.params) == ("openai:old", "2024", {"temperature": 0.1})
    assert (got.candidate.id, got.candidate.label, got.candidate.params) == ("openai:new", None, {})
    assert (got.samples, got.concurrency, got.params, got.name) == (1, 8, {}, "7")
    assert RunConfig.model_validate({}).baseline is None


def test_an_alias_bomb_is_a_usage_error_naming_the_file(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text('a: &a ["x","x","x","x","x","x","x","x","x"]\n' + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
        f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]\n" for i in range(8)))  # fmt: skip
    with pytest.raises(UsageError, match=rf"^--config {cfg}:\d+: aliases expand to more than"):
        load_run_config(cfg)
