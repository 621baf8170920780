#!/usr/bin/env python3
"""Check .github/dependabot.yml against Dependabot's version 2 schema, the part this repository uses.

Keys follow GitHub's "Dependabot options reference": version (must be 2); updates, a list of entries with
package-ecosystem, directory (or directories) and schedule.interval required; groups mapping a group name to
patterns (and the other documented group keys). An unknown key, a wrong type or a missing required key is an
error naming its path. Run by make lint; PyYAML comes from make tools (scripts/python-tools.sh).
"""
import sys

try:
    import yaml
except ImportError:
    sys.exit("check-dependabot: PyYAML is missing: run make tools")

ECOSYSTEMS = {
    "bun", "bundler", "cargo", "composer", "devcontainers", "docker", "docker-compose", "dotnet-sdk", "elm",
    "github-actions", "gitsubmodule", "gomod", "gradle", "helm", "maven", "mix", "npm", "nuget", "pip", "pub",
    "swift", "terraform", "uv",
}
INTERVALS = {"daily", "weekly", "monthly", "quarterly", "semiannually", "yearly", "cron"}
UPDATE_KEYS = {
    "package-ecosystem", "directory", "directories", "schedule", "groups", "allow", "ignore", "assignees",
    "commit-message", "labels", "milestone", "open-pull-requests-limit", "pull-request-branch-name",
    "rebase-strategy", "registries", "reviewers", "target-branch", "vendor", "versioning-strategy",
    "insecure-external-code-execution", "cooldown", "exclude-paths", "multi-ecosystem-group", "patterns",
}
SCHEDULE_KEYS = {"interval", "day", "time", "timezone", "cronjob"}
GROUP_KEYS = {"applies-to", "dependency-type", "patterns", "exclude-patterns", "update-types", "group-by"}
TOP_KEYS = {"version", "updates", "registries", "enable-beta-ecosystems", "multi-ecosystem-groups"}
REQUIRED_ECOSYSTEMS = {"gomod", "github-actions", "docker"}


def check(doc):
    errs = []
    if not isinstance(doc, dict):
        return ["the file is not a mapping"]
    errs += [f"unknown top-level key {k!r}" for k in doc if k not in TOP_KEYS]
    if doc.get("version") != 2:
        errs.append(f"version = {doc.get('version')!r}; want 2")
    updates = doc.get("updates")
    if not isinstance(updates, list) or not updates:
        return errs + ["updates: want a non-empty list"]
    seen = set()
    for i, u in enumerate(updates):
        where = f"updates[{i}]"
        if not isinstance(u, dict):
            errs.append(f"{where}: want a mapping")
            continue
        errs += [f"{where}: unknown key {k!r}" for k in u if k not in UPDATE_KEYS]
        eco = u.get("package-ecosystem")
        if eco not in ECOSYSTEMS:
            errs.append(f"{where}.package-ecosystem = {eco!r}; want one of Dependabot's ecosystems")
        d = u.get("directory")
        if not (isinstance(d, str) and d.startswith("/")) and "directories" not in u:
            errs.append(f"{where}.directory = {d!r}; want a path starting with /")
        seen.add((eco, d))
        sched = u.get("schedule")
        if not isinstance(sched, dict):
            errs.append(f"{where}.schedule: want a mapping")
        else:
            errs += [f"{where}.schedule: unknown key {k!r}" for k in sched if k not in SCHEDULE_KEYS]
            if sched.get("interval") not in INTERVALS:
                errs.append(f"{where}.schedule.interval = {sched.get('interval')!r}; want one of {sorted(INTERVALS)}")
        groups = u.get("groups", {})
        if not isinstance(groups, dict) or not groups:
            errs.append(f"{where}.groups: want a non-empty mapping (this repository groups every ecosystem)")
            continue
        for name, g in groups.items():
            gw = f"{where}.groups.{name}"
            if not isinstance(g, dict):
                errs.append(f"{gw}: want a mapping")
                continue
            errs += [f"{gw}: unknown key {k!r}" for k in g if k not in GROUP_KEYS]
            pats = g.get("patterns")
            if not (isinstance(pats, list) and pats and all(isinstance(p, str) for p in pats)):
                errs.append(f"{gw}.patterns: want a non-empty list of strings")
    missing = REQUIRED_ECOSYSTEMS - {e for e, _ in seen}
    if missing:
        errs.append(f"updates: no entry for {sorted(missing)}")
    if len(seen) != len(updates):
        errs.append("updates: two entries for the same ecosystem and directory")
    return errs


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: check-dependabot.py PATH")
    with open(argv[1], encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    errs = check(doc)
    for e in errs:
        print(f"{argv[1]}: {e}", file=sys.stderr)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
