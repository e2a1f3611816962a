"""The web client's words live in one message catalogue (web/lib/i18n/en.ts), and stay there.

Three things a translator relies on: every key in the catalogue is read by some page (no dead
keys to translate for nothing), a second catalogue must have exactly the English keys (a
pseudo-locale built from `en` type-checks, one with a key missing or added does not), and a word
written straight into JSX fails the lint that `make test` runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"
ESLINT = WEB / "node_modules" / ".bin" / "eslint"


def _need_node() -> str:
    node = shutil.which("node")
    if node and ESLINT.exists():
        return node
    reason = "node and web/node_modules are needed: run `cd web && npm ci`"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.mark.timeout(300)
def test_every_key_is_used_and_a_translation_needs_exactly_the_same_keys() -> None:
    node = _need_node()
    run = subprocess.run(
        [node, "scripts/check-catalogue.mjs"], cwd=WEB, capture_output=True, text=True, timeout=300, check=False
    )
    assert run.stdout, run.stderr
    report = json.loads(run.stdout)
    assert report["keys"] > 400, "the catalogue holds the words of every page"
    assert report["dead"] == [], "keys that no page reads: use them or remove them"
    assert report["pseudoErrors"] == [], "a pseudo-locale with every English key must type-check as Messages"
    assert report["missingKey"]["rejected"], "a catalogue missing a key must not type-check"
    assert report["extraKey"]["rejected"], "a catalogue with a key English lacks must not type-check"
    assert run.returncode == 0, run.stderr


def _lint(source: str, name: str = "components/CatalogueProbe.tsx") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ESLINT), "--stdin", "--stdin-filename", name, "--format", "json"],
        cwd=WEB,
        input=source,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


PROBE = """import {{ useMessages }} from "@/lib/i18n";

export function CatalogueProbe({{ busy }}: {{ busy: boolean }}) {{
  const t = useMessages();
  return (
    <button type="button" aria-label={{t.appShell.menu}} title={{t.appShell.menu}}>
      {body}
    </button>
  );
}}
"""


@pytest.mark.parametrize(
    "body",
    [
        "Sign out",
        '{busy ? "Saving…" : t.appShell.signOut}',
        "{`Signed in as ${busy}`}",
    ],
)
def test_a_word_written_into_jsx_fails_the_lint(body: str) -> None:
    _need_node()
    run = _lint(PROBE.format(body=body))
    assert run.returncode == 1, run.stdout + run.stderr
    rules = {m["ruleId"] for m in json.loads(run.stdout)[0]["messages"]}
    assert rules & {"react/jsx-no-literals", "no-restricted-syntax"}, rules


@pytest.mark.parametrize("attribute", ['aria-label="Menu"', 'placeholder="Search"', "alt={`Photo of ${name}`}"])
def test_a_word_written_into_a_text_attribute_fails_the_lint(attribute: str) -> None:
    _need_node()
    source = PROBE.format(body="{t.appShell.signOut}").replace("aria-label={t.appShell.menu}", attribute)
    source = source.replace("{ busy }: { busy: boolean }", "{ busy, name }: { busy: boolean; name: string }")
    run = _lint(source)
    assert run.returncode == 1, run.stdout + run.stderr
    rules = {m["ruleId"] for m in json.loads(run.stdout)[0]["messages"]}
    assert "no-restricted-syntax" in rules, rules


def test_catalogue_words_and_punctuation_pass_the_lint() -> None:
    _need_node()
    run = _lint(PROBE.format(body="{t.appShell.signOut} · {busy ? t.appShell.menu : null} —"))
    assert run.returncode == 0, run.stdout + run.stderr
