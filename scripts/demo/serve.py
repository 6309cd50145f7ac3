#!/usr/bin/env python3
"""Serve the demo's two model versions with llama.cpp's OpenAI-compatible server, on 127.0.0.1.

By default each version gets its own server and both answer to the SAME model name
(``gemma3-270m``): the baseline endpoint serves Q4_K_M, the candidate endpoint a requantization.
That is the silent change `reviewer` exists to catch: same name, new serving stack. One server
per version also uses both cores (each server computes on one thread) and never swaps models.
``--one-port`` instead serves both from one server under two aliases (``gemma3-270m-q4_k_m``,
``gemma3-270m-q3_k_s``); llama_cpp.server keeps one model loaded and reloads on every switch.

When the servers answer ``/v1/models`` it prints one line per side with the spec for
``reviewer run`` and then ``READY {json}``; it runs until interrupted (Ctrl-C / SIGTERM).

    python scripts/demo/serve.py [--port 8101] [--candidate q3_k_s] [--one-port]

What the stock server lacks and this adds (in the server process, by subclassing, not by
patching llama.cpp): a ``question-answer`` chat format (``Question: ...\\nAnswer:``) because the
base model has no chat template; a reset of the model state before each request, so that an
answer never depends on which prompt came before it (the server otherwise reuses the previous
prompt's KV cache prefix, and identical requests came back different); and a 404 for an unknown
model name, which the stock server silently answers with its first model.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import build_models  # noqa: E402  (a sibling script, not a package)

MODEL_NAME = "gemma3-270m"
TEMPLATE = HERE / "server_config.json"


# ---------------------------------------------------------------------------------------------
# The server process (--worker)
# ---------------------------------------------------------------------------------------------


def _worker(config_file: str) -> None:
    import uvicorn
    from fastapi import HTTPException, Request
    from fastapi.responses import JSONResponse
    from llama_cpp import llama_chat_format as chat
    from llama_cpp.server import app as server_app
    from llama_cpp.server.model import LlamaProxy
    from llama_cpp.server.settings import ConfigFileSettings, ServerSettings

    @chat.register_chat_format("question-answer")
    def format_question_answer(messages, **kwargs):
        """A plain format a base model continues sensibly: an optional system text, then
        ``Question: ...`` / ``Answer: ...`` turns, ending with ``Answer:`` for the model."""
        parts: list[str] = []
        for m in messages:
            content = m.get("content") if isinstance(m.get("content"), str) else ""
            if m["role"] in ("system", "developer"):
                parts.append(content.strip() + "\n\n")
            elif m["role"] == "user":
                parts.append(f"Question: {content.strip()}\n")
            elif m["role"] == "assistant":
                parts.append(f"Answer: {content.strip()}\n\n")
        parts.append("Answer:")
        return chat.ChatFormatterResponse(prompt="".join(parts), stop=["\nQuestion:", "\nAnswer:"])

    class UnknownModel(HTTPException):
        pass

    class FreshStateProxy(LlamaProxy):
        def __call__(self, model: str | None = None):
            if model is not None and model not in self._model_settings_dict:
                raise UnknownModel(
                    status_code=404,
                    detail=f"model {model!r} is not served here (served: {', '.join(self)})",
                )
            llama = super().__call__(model)
            llama.reset()  # forget the previous prompt: no KV prefix reuse across requests
            return llama

    server_app.LlamaProxy = FreshStateProxy  # create_app builds the proxy through this name

    settings = ConfigFileSettings.model_validate_json(Path(config_file).read_bytes())
    app = server_app.create_app(server_settings=ServerSettings.model_validate(settings), model_settings=settings.models)

    @app.exception_handler(UnknownModel)
    async def _unknown_model(request: Request, exc: UnknownModel) -> JSONResponse:
        body = {"message": exc.detail, "type": "invalid_request_error", "param": "model", "code": "model_not_found"}
        return JSONResponse({"error": body}, status_code=404)

    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")


# ---------------------------------------------------------------------------------------------
# The launcher
# ---------------------------------------------------------------------------------------------


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def fill_template(sides: list[tuple[str, str, str]], host: str, port: int) -> dict:
    """The template's settings for one server serving ``sides`` [(side, gguf path, alias), ...]."""
    tpl = json.loads(TEMPLATE.read_text())
    tpl.pop("_comment", None)
    entries = {"baseline": tpl["models"][0], "candidate": tpl["models"][1]}
    models = []
    for side, path, alias in sides:
        values = {f"${{{side.upper()}_GGUF}}": path, f"${{{side.upper()}_ALIAS}}": alias}
        models.append({k: values.get(v, v) if isinstance(v, str) else v for k, v in entries[side].items()})
    return {**tpl, "host": host, "port": port, "models": models}


def wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace").splitlines()[-15:]
            raise SystemExit(f"serve: the server for {url} exited with code {proc.returncode}:\n" + "\n".join(tail))
        try:
            with urllib.request.urlopen(url + "/models", timeout=2) as r:
                return [m["id"] for m in json.load(r)["data"]]
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"serve: {url} did not answer /v1/models within {timeout:.0f}s (log: {log})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache-dir", type=Path, default=build_models.DEFAULT_CACHE)
    ap.add_argument("--candidate", choices=sorted(build_models.TARGETS), default=build_models.DEFAULT_CANDIDATE)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8101, help="baseline port; the candidate gets the next one (0: any free ports)")
    ap.add_argument("--one-port", action="store_true", help="one server, both versions under two aliases")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the servers to answer")
    ap.add_argument("--worker", metavar="CONFIG", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        _worker(args.worker)
        return 0

    cache = args.cache_dir.resolve()
    built = build_models.build(cache, args.candidate)
    quants = {side: built[side]["quant"] for side in ("baseline", "candidate")}
    if args.one_port:
        aliases = {side: f"{MODEL_NAME}-{quants[side].lower()}" for side in quants}
        port = args.port or free_port(args.host)
        servers = {"both": (port, [(s, built[s]["path"], aliases[s]) for s in ("baseline", "candidate")])}
        where = {side: ("both", aliases[side]) for side in quants}
    else:
        ports = (args.port, args.port + 1) if args.port else (free_port(args.host), free_port(args.host))
        servers = {
            side: (port, [(side, built[side]["path"], MODEL_NAME)])
            for side, port in zip(("baseline", "candidate"), ports, strict=True)
        }
        where = {side: (side, MODEL_NAME) for side in quants}

    procs: dict[str, subprocess.Popen] = {}

    def stop(*_: object) -> None:
        for p in procs.values():
            if p.poll() is None:
                p.terminate()
        for p in procs.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()

    signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(0)))
    urls: dict[str, str] = {}
    try:
        for key, (port, models) in servers.items():
            cfg = cache / f"server-{key}.json"
            cfg.write_text(json.dumps(fill_template(models, args.host, port), indent=2))
            log = cache / f"server-{key}.log"
            with log.open("wb") as out:
                procs[key] = subprocess.Popen(
                    [sys.executable, str(Path(__file__).resolve()), "--worker", str(cfg)],
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )  # fmt: skip
            urls[key] = f"http://{args.host}:{port}/v1"
        for key in servers:
            served = wait_ready(urls[key], procs[key], cache / f"server-{key}.log", args.timeout)
            print(f"serve: {urls[key]} serves {', '.join(served)}", file=sys.stderr)
        ready = {}
        for side in ("baseline", "candidate"):
            key, model = where[side]
            ready[side] = {
                "base_url": urls[key],
                "model": model,
                "spec": f"openai:{model}@{urls[key]}",
                "quant": quants[side],
                "sha256": built[side]["sha256"],
            }
            print(f"{side:<9} {quants[side]:<7} {ready[side]['spec']}")
        print("READY " + json.dumps(ready), flush=True)
        while all(p.poll() is None for p in procs.values()):
            time.sleep(0.5)
        dead = [k for k, p in procs.items() if p.poll() is not None]
        print(f"serve: server {', '.join(dead)} exited; stopping", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
