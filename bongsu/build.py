"""`bongsu build` and `bongsu check`: run every registered generator over one parsed catalog.

This is the composition root of the build: the only module that imports every part's generator (the
types they share live in bongsu/generator.py). Generators never import each other; a check that spans
two parts' output (an alert linking to a dashboard) lives in the spine (bongsu/links.py).
"""

from __future__ import annotations

from pathlib import Path

from bongsu import links
from bongsu.catalog import Catalog
from bongsu.generator import BuildOptions, Finding, Generator, Stage

# The runner's own API is re-exported for its callers (the CLI, the local stack, tests).
__all__ = ["BuildOptions", "Finding", "Generator", "build", "build_for_compose", "check", "check_compose",
           "generators"]


def generators() -> list[Generator]:
    """The registered generators, each under its part's name: writers first, then packagers.

    Imported here, when a build runs, so `import bongsu.build` stays light for the CLI."""
    import alert_rules.build
    import bongsu.deploy
    import bongsu.scrape_config
    import dashboards.build

    registered = [bongsu.scrape_config.GENERATOR, alert_rules.build.GENERATOR, dashboards.build.GENERATOR,
                  bongsu.deploy.GENERATOR]
    return [g for g in registered if g.stage is Stage.GENERATE] + [g for g in registered if g.stage is Stage.PACKAGE]


def build(catalog: Catalog, options: BuildOptions) -> list[Path]:
    options.out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for generator in generators():
        written.extend(generator.generate(catalog, options))
    return written


def check(catalog: Catalog, options: BuildOptions) -> list[Finding]:
    build(catalog, options)
    findings: list[Finding] = []
    for generator in generators():
        if generator.check:
            findings.extend(generator.check(catalog, options))
    findings.extend(links.check(catalog, options))
    return findings


def build_for_compose(catalog: Catalog, out: Path) -> list[Path]:
    """Everything `bongsu build` writes, for the compose network (every address a compose service name)."""
    from bongsu.deploy.compose import compose_options

    return build(catalog, compose_options(catalog, out))


def check_compose(catalog: Catalog, compose_file: Path, scratch: Path) -> list[Finding]:
    """`bongsu deploy check`: build for compose into `scratch`, then check the compose file against it."""
    from bongsu.deploy.validation import check_compose_folder

    build_for_compose(catalog, scratch)
    return check_compose_folder(compose_file, scratch)
