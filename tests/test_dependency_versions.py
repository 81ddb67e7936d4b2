"""The codec against cbor2 releases other than the locked one.

A new major release of a dependency must be caught by a test, not by a user: cbor2 6.0
started decoding arrays inside tags as tuples, and every token became MALFORMED on machines
that resolved it. Each case makes a throwaway environment with uv (from the package
registry) holding only cbor2 and PyNaCl, and decodes every published vector there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def uv() -> str:
    exe = shutil.which("uv") or str(ROOT / ".uv" / "bin" / "uv")
    if not Path(exe).is_file():
        pytest.fail("uv not found: run `bash scripts/bootstrap.sh --dev` (test.sh does)")
    return exe


@pytest.mark.slow
@pytest.mark.parametrize("cbor2", ["cbor2>=5.6,<6", "cbor2>=6,<7"], ids=["newest-5.x", "newest-6.x"])
def test_vectors_decode_with_newest_cbor2_of_each_major(cbor2: str, tmp_path: Path) -> None:
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "VIRTUAL_ENV": ""}
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(venv)], check=True, env=env)
    subprocess.run(
        [uv(), "pip", "install", "-q", "--python", str(python), cbor2, "pynacl"], check=True, env=env
    )
    proc = subprocess.run(
        [str(python), str(ROOT / "docs" / "vectors" / "decode_all.py")],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    summary = json.loads(proc.stdout)
    assert summary["vectors"] >= 30
    assert summary["problems"] == {}, summary
    assert proc.returncode == 0
