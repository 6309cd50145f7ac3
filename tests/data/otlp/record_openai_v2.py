"""Re-record the OTLP JSON fixtures written by a real instrumentation library.

Not a test and not a dependency: run it by hand in a throwaway venv when the instrumentation's
output format moves::

    python3.11 -m venv /tmp/otvenv
    /tmp/otvenv/bin/pip install opentelemetry-instrumentation-openai-v2 opentelemetry-sdk \
        opentelemetry-exporter-otlp-proto-common openai aiohttp
    /tmp/otvenv/bin/python tests/data/otlp/record_openai_v2.py latest   # gen_ai_latest_experimental, span_only
    /tmp/otvenv/bin/python tests/data/otlp/record_openai_v2.py legacy   # v1.30 conventions, content as log events
    /tmp/otvenv/bin/python tests/data/otlp/record_openai_v2.py nocontent  # content capture off
    /tmp/otvenv/bin/python tests/data/otlp/record_openai_v2.py legacy-nocontent

(with opentelemetry-util-genai 0.4b0: the newer 1.x releases do not fit openai-v2 2.4b0.)

It calls the loopback OpenAI-protocol server of tests/fakeprovider.py through the official `openai`
client instrumented by `opentelemetry-instrumentation-openai-v2`, keeps the spans (and log
records) in memory, encodes them with the OTLP protobuf encoder and writes them as OTLP JSON the
way the Collector's file exporter does: one ExportTraceServiceRequest (or ExportLogsServiceRequest)
per line, trace and span ids as hex, enums as integers.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # tests/, for fakeprovider

mode = sys.argv[1] if len(sys.argv) > 1 else "latest"
if mode == "latest":
    os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
    os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "span_only"
elif mode == "legacy":
    os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "true"
elif mode == "legacy-nocontent":
    pass
elif mode == "nocontent":
    os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
else:
    raise SystemExit(f"unknown mode {mode!r} (latest, legacy, legacy-nocontent, nocontent)")

from fakeprovider import FakeProvider, ok  # noqa: E402
from google.protobuf import json_format  # noqa: E402
from openai import OpenAI  # noqa: E402
from opentelemetry import _logs, trace  # noqa: E402
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs  # noqa: E402
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans  # noqa: E402
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor  # noqa: E402
from opentelemetry.sdk._logs import LoggerProvider  # noqa: E402
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

resource = Resource.create({"service.name": "support-bot"})
spans = InMemorySpanExporter()
tp = TracerProvider(resource=resource)
tp.add_span_processor(SimpleSpanProcessor(spans))
trace.set_tracer_provider(tp)
logs = InMemoryLogRecordExporter()
lp = LoggerProvider(resource=resource)
lp.add_log_record_processor(SimpleLogRecordProcessor(logs))
_logs.set_logger_provider(lp)
OpenAIInstrumentor().instrument(tracer_provider=tp, logger_provider=lp)

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}

with FakeProvider(api_key="sk-test", aliases={"gpt-4o-mini": "gpt-4o-mini-2024-07-18"}) as srv:
    srv.script("weather", ok(tool_calls=[{"name": "get_weather", "arguments": '{"city": "Paris"}', "id": "call_w1"}]))
    srv.script("refund", ok("Refunds take 5 business days."))
    srv.script("capital", ok("Paris."))
    client = OpenAI(api_key="sk-test", base_url=srv.base_url)
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "What is the capital of France?"}])
    client.chat.completions.create(
        model="gpt-4o-mini",
        temperature=0.2,
        max_tokens=200,
        messages=[
            {"role": "system", "content": "You are a support agent."},
            {"role": "user", "content": "How long does a refund take?"},
        ],
    )
    client.chat.completions.create(
        model="gpt-4o-mini", tools=[WEATHER], messages=[{"role": "user", "content": "What is the weather in Paris?"}]
    )


def hexify(obj):
    """OTLP JSON (unlike proto3 JSON) writes trace and span ids as hex."""
    if isinstance(obj, dict):
        return {
            k: (base64.b64decode(v).hex() if k in ("traceId", "spanId", "parentSpanId") and isinstance(v, str) else hexify(v))
            for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [hexify(x) for x in obj]
    return obj


out = HERE / f"openai_v2_{mode}.jsonl"
lines = [json.dumps(hexify(json_format.MessageToDict(encode_spans(spans.get_finished_spans()), use_integers_for_enums=True)))]
records = logs.get_finished_logs()
if records:
    lines.append(json.dumps(hexify(json_format.MessageToDict(encode_logs(records), use_integers_for_enums=True))))
out.write_text("\n".join(lines) + "\n")
print(f"wrote {out}: {len(spans.get_finished_spans())} spans, {len(records)} log records")
