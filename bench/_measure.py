"""One command's wall time, CPU time and peak RSS, measured in a small wrapper process.

On Linux a child's ``ru_maxrss`` starts from its parent's: at ``exec`` the kernel folds the
memory the process had before (the parent's, after a vfork) into its peak. A bench script that
has built a 100,000-case store in-process (~1 GB) would report that for every command it
starts (``bench/export.py`` printed 1,029 MB for a 368 MB export). A few-MB wrapper process
starts the command instead and reports the command's own usage.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

__all__ = ["measure"]

#: Run argv[1:] with stdout dropped and stderr passed on; print its exit code, wall s, CPU s and
#: peak RSS kB (the wrapper's own start is not in the wall time).
_WRAPPER = """
import os, subprocess, sys, time
t = time.perf_counter()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, u = os.wait4(p.pid, 0)
print(os.waitstatus_to_exitcode(status), time.perf_counter() - t, u.ru_utime + u.ru_stime, u.ru_maxrss)
"""


def measure(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> tuple[int, float, float, float, str]:
    """(exit code, wall s, CPU s, peak RSS MB, stderr) of ``cmd``, its stdout dropped."""
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, *cmd], env=env, cwd=cwd, capture_output=True, check=False)
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == 0, err
    code, wall, cpu, rss_kb = proc.stdout.split()[-4:]
    return int(code), float(wall), float(cpu), int(rss_kb) / 1024, err
