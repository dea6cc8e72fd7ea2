"""Prove a fork's first day: adapt the stack files as README step 2 says, then `make test` and `make demo` there.

A fork edits its three stack files (accounts, region and zones, GitHub org and repo, SSO personas,
state bucket, alert e-mail, registry readers) and nothing else. This script copies the checkout's
tracked files into a fresh folder, makes exactly those edits with values that share nothing with the
shipped examples (another region with three AZs, SSO role ARNs with their `aws-reserved` path), and
runs the README's two commands there. Both must pass: the blueprint's tests run on their own fixture
stack files, the fork's stack files are checked by tests parameterised over whatever files exist, and
the demo runs in the fork's region.

    python3 tools/adapted_fork.py [--keep DIR]      # `make fork-check` runs it; CI runs that

It runs outside `make test` (it runs the whole suite once more) and reuses uv's package cache.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]
ACCOUNTS = {"dev": "404040404040", "staging": "505050505050", "prod": "606060606060"}
ORG, REPO = "acme-analytics", "churn-ml"
SSO_PATH = f"aws-reserved/sso.amazonaws.com/{REGION}/"
"""IAM Identity Center puts the roles of permission sets under this path (IAM user guide, "SSO roles")."""


def adapt(settings: dict[str, Any], environment: str, accounts: dict[str, str]) -> dict[str, Any]:
    """One stack file's `config:` as a fork edits it in README step 2; other settings stay as shipped."""
    account = ACCOUNTS[environment]
    settings = dict(settings)
    settings["aws:region"] = REGION
    settings["mlops:accountId"] = account
    settings["mlops:network"] = {**settings.get("mlops:network", {}), "availabilityZones": list(ZONES)}
    identity = dict(settings.get("mlops:identity", {}))
    identity["github"] = {**identity.get("github", {}), "org": ORG, "repo": REPO}
    identity["stateBucket"] = f"{ORG}-pulumi-state-{account}"
    identity["personas"] = {
        persona: [_sso_role(arn, account) for arn in arns] for persona, arns in identity.get("personas", {}).items()
    }
    settings["mlops:identity"] = identity
    settings["mlops:audit"] = {**settings.get("mlops:audit", {}), "alertEmails": [f"ml-{environment}-alerts@{ORG}.io"]}
    registry = settings.get("mlops:registry")
    if registry and registry.get("readerAccounts"):
        readers = [accounts.get(reader, reader) for reader in registry["readerAccounts"]]
        settings["mlops:registry"] = {**registry, "readerAccounts": readers}
    return settings


def _sso_role(arn: str, account: str) -> str:
    """The fork's SSO role for a persona: same permission set name, the fork's account, AWS's SSO path."""
    name = arn.rsplit("/", 1)[1]
    return f"arn:aws:iam::{account}:role/{SSO_PATH}{name}"


def adapt_stack_files(root: Path) -> None:
    """Edit the stack files in `root` in place, as README step 2 says a fork does."""
    documents = {path: yaml.safe_load(path.read_text(encoding="utf-8")) for path in sorted(root.glob("Pulumi.*.yaml"))}
    shipped = {doc["config"]["mlops:environment"]: doc["config"]["mlops:accountId"] for doc in documents.values()}
    accounts = {shipped[environment]: ACCOUNTS[environment] for environment in shipped}
    for path, document in documents.items():
        environment = document["config"]["mlops:environment"]
        document["config"] = adapt(document["config"], environment, accounts)
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    for path in sorted(root.glob("projects/*/project.yaml")):
        adapt_project_file(path)


def adapt_project_file(path: Path) -> None:
    """A project's team roles move to the fork's accounts: each environment's SSO roles, as in the stack files."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    for environment, sections in document.get("environments", {}).items():
        personas = sections.get("personas") or {}
        sections["personas"] = {
            persona: [_sso_role(arn, ACCOUNTS[environment]) for arn in arns] for persona, arns in personas.items()
        }
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def make_fork(destination: Path) -> Path:
    """Copy the checkout's files to `destination` (a git repository of its own) and adapt its stacks."""
    listing = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    tracked = subprocess.run(listing, cwd=ROOT, capture_output=True, check=True, text=True).stdout.split("\0")  # noqa: S603
    for name in filter(None, tracked):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    adapt_stack_files(destination)
    _git(destination, "init", "-q", "-b", "main")
    _git(destination, "add", "-A")
    _git(destination, "-c", "user.name=fork", "-c", "user.email=fork@example.invalid", "commit", "-qm", "Adapt stacks")
    return destination


def leftovers(destination: Path) -> list[str]:
    """Shipped example values still in the fork's stack files (there must be none)."""
    examples = {
        value
        for path in ROOT.glob("Pulumi.*.yaml")
        for value in re.findall(r"\b\d{12}\b|[a-z]{2}-[a-z]+-\d[a-z]?\b|example-org", path.read_text(encoding="utf-8"))
    }
    found = []
    for path in destination.glob("Pulumi.*.yaml"):
        text = path.read_text(encoding="utf-8")
        found += [f"{path.name}: {value}" for value in sorted(examples) if value in text]
    return found


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True)  # noqa: S603, S607 - fixed git commands


def main() -> int:
    """Build the fork, run `make test` and `make demo` in it, and report the time each took."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="build the fork here and keep it (default: a temporary folder)")
    args = parser.parse_args()
    destination = args.keep or Path(tempfile.mkdtemp(prefix="adapted-fork-"))
    if destination.exists() and any(destination.iterdir()):
        shutil.rmtree(destination)
    destination.mkdir(parents=True, exist_ok=True)
    make_fork(destination)
    left = leftovers(destination)
    if left:
        print(f"the adapted fork still holds example values: {left}", file=sys.stderr)
        return 1
    print(f"adapted fork in {destination}: {REGION} ({', '.join(ZONES)}), accounts {ACCOUNTS}, {ORG}/{REPO}")
    for target in ("test", "demo"):
        started = time.perf_counter()
        result = subprocess.run(["make", target], cwd=destination, check=False)  # noqa: S603, S607
        print(f"adapted fork: make {target} exited {result.returncode} after {time.perf_counter() - started:.0f} s")
        if result.returncode != 0:
            return result.returncode
    if args.keep is None:
        shutil.rmtree(destination)
    return 0


if __name__ == "__main__":
    sys.exit(main())
