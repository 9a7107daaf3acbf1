"""Production values pass Django's deployment checklist without a single warning."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "k3v9wq2mZ8rAt6yTu1iBo0pXa7sQd5fWg4hEjRlYxUcIbOnPvK",
    "ALLOWED_HOSTS": "bss.example.com",
    "HTTPS": "true",
}


def run_check(extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in PRODUCTION_ENV}
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_values_report_nothing() -> None:
    result = run_check(PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_development_key_is_refused_in_production() -> None:
    result = run_check({**PRODUCTION_ENV, "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


def test_a_boolean_setting_must_be_true_or_false() -> None:
    result = run_check({**PRODUCTION_ENV, "DEBUG": "yes"})
    assert result.returncode != 0
    assert "DEBUG must be 'true' or 'false'" in result.stderr
