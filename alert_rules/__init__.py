"""SLO burn-rate and symptom alerts, and the Alertmanager routing to Slack, generated from the catalog.

This folder owns what the on-call receives: Prometheus rules (`rules`), the catalog lint that fails
impossible tiers (`lint`), Alertmanager routes, receivers and inhibitions (`routing`), promtool unit
tests for the generated rules (`rule_tests`), hand-written rules and tests (`handwritten/`, `custom`),
prometheus-operator objects (`kubernetes`), runbook coverage (`runbooks`) and drafts (`scaffold`,
`bongsu runbooks scaffold` in `cli`), the checks with the real promtool and amtool (`verify`), and
latency thresholds against a recorded /metrics (`buckets`).
`build` is the generator registered in `bongsu build`; `render` writes the YAML.
"""

from alert_rules.build import check, generate
from alert_rules.lint import LintError, lint
from alert_rules.routing import GROUP_BY, TOKEN_FILE, alertmanager_config, route_cases
from alert_rules.rules import alert_names, service_groups
from alert_rules.scaffold import scaffold

__all__ = [
    "GROUP_BY",
    "LintError",
    "TOKEN_FILE",
    "alert_names",
    "alertmanager_config",
    "check",
    "generate",
    "lint",
    "route_cases",
    "scaffold",
    "service_groups",
]
