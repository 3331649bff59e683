"""axe-core (installed by `make node-install`) run inside the page: WCAG 2.1 A and AA.

`assert_accessible(page, "what is shown")` injects axe once per document and fails with the
violations it finds, each with its rule, impact and the elements at fault.
"""

import json

import pytest

from tests.provider_server import ROOT

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def axe_violations(page, *, include: str | None = None) -> list[dict]:
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: run `make node-install`")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # A devtools evaluation, not a page script: the site's strict CSP (script-src 'self',
        # no inline scripts) would refuse add_script_tag's inline copy.
        page.evaluate(AXE.read_text())
    return page.evaluate(
        """async ([tags, include]) => {
            const result = await axe.run(include ? { include: [include] } : document, {
                runOnly: { type: 'tag', values: tags },
                resultTypes: ['violations'],
            });
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => ({
                    target: n.target.join(' '), summary: n.failureSummary,
                })),
            }));
        }""",
        [WCAG_21_AA, include],
    )


def assert_accessible(page, what: str, *, include: str | None = None) -> None:
    violations = axe_violations(page, include=include)
    assert violations == [], f"axe found violations on {what}:\n" + json.dumps(violations, indent=1)
