"""Prove that a customised fork takes the blueprint's upgrade: from the previous release to HEAD.

    python3 tools/upgrade_proof.py [--keep DIR]     # `make fork-check` runs it; CI runs that

1. Generate a fork with copier at the previous release (the second newest in CHANGELOG.md), at its tag
   `vX.Y.Z`, or, in a clone without tags, at the commit CHANGELOG.md records for it (a shallow clone has
   neither, and the proof then fails and says so).
2. Customise it as a team does: its answers (accounts, region, zones, org), its SSO roles in the stack
   files and projects, a second project (`mlops project new`), a changed threshold in a project.yaml,
   a changed enforcement level, a local edit that the release collides with, and one it does not. Commit.
3. Upgrade it to HEAD with the fork's own `mlops upgrade`.
4. Assert: every fork-owned file is byte-identical; every blueprint-owned file is HEAD's (as a fork made
   at HEAD has it), but for the local edits; the colliding edit is reported as a conflict and the other
   survives; the release's renames carried the fork's edits along. Then, with the conflict resolved
   (HEAD's side kept), `mlops validate`, `mlops plan` and `make test` pass in the upgraded fork.

It tests HEAD as committed (a clone of this checkout), outside `make test`: it runs the suite once more.
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
sys.path.insert(0, str(ROOT))

from mlops.ownership import ANSWERS_FILE, Ownership, fork_owns, split  # noqa: E402 - the checkout's own module

ANSWERS: dict[str, Any] = {
    "organisation": "acme-analytics",
    "repository": "churn-ml",
    "region": "us-east-1",
    "zones": ["us-east-1a", "us-east-1b", "us-east-1c"],
    "dev_account": "404040404040",
    "staging_account": "505050505050",
    "prod_account": "606060606060",
    "alert_email": "ml-alerts@acme-analytics.io",
    "first_project": "fraud",
    "first_team": "risk-ds",
}
"""The fork's answers: no value in common with the shipped examples."""

SSO_PATH = f"aws-reserved/sso.amazonaws.com/{ANSWERS['region']}/"
"""IAM Identity Center puts the roles of permission sets under this path (IAM user guide, "SSO roles")."""

RENAMED = {"policies/enforcement.yaml": "policies/config/enforcement.yaml"}
"""Renames a release's `_migrations` carry out (copier.yml): the fork's edits must move with the file."""

LOCAL_EDIT = "  # local edit of the fork"
EDGE = {"<<<<<<< before updating", "=======", ">>>>>>> after updating"}


class ProofError(Exception):
    """One of the proof's assertions did not hold: the message says which and how to look."""


def run(cwd: Path, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `command` in `cwd`, its output captured; ProofError with the output when it fails and must not."""
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)  # noqa: S603
    if check and result.returncode != 0:
        raise ProofError(f"`{' '.join(command)}` in {cwd} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result


def git(cwd: Path, *args: str) -> str:
    """A git command's output (identity set, so commits work on a bare CI machine)."""
    identity = ("-c", "user.name=fork", "-c", "user.email=fork@example.invalid")
    return run(cwd, "git", *identity, *args).stdout


RECORDED = re.compile(r"^## \[(\d+\.\d+\.\d+)\][^\n]*\n+Release commit: `([0-9a-f]{40})`", flags=re.MULTILINE)
"""A release heading and the commit its tag is on, recorded under the heading once tagged (CHANGELOG.md)."""


def releases(changelog: Path) -> list[str]:
    """Released versions in CHANGELOG.md, newest first."""
    return releases_of(changelog.read_text(encoding="utf-8"))


def releases_of(text: str) -> list[str]:
    """Released versions in a CHANGELOG.md's text, newest first."""
    return re.findall(r"^## \[(\d+\.\d+\.\d+)\]", text, flags=re.MULTILINE)


def recorded_commits(changelog: Path) -> dict[str, str]:
    """Each release's commit as CHANGELOG.md records it under the release's heading."""
    return dict(RECORDED.findall(changelog.read_text(encoding="utf-8")))


def previous_release(template: Path, origin: str = "") -> str:
    """The tag of the release before the newest one, in `template` (a clone of the checkout).

    A clone that did not fetch the tags (CI's clone of a pushed branch, `git clone --no-tags`) still has the
    release commits that CHANGELOG.md records: the two newest releases are tagged on them here, in the clone,
    after checking that each commit's own CHANGELOG.md names that release as its newest; a shallow clone first
    fetches the history from `origin` (where the checkout came from), if given. ProofError, naming
    the fix, when neither a tag nor a recorded commit that this clone holds is there.
    """
    versions = releases(template / "CHANGELOG.md")
    if len(versions) < 2:
        raise ProofError(f"CHANGELOG.md lists {versions}: an upgrade needs a release before the newest")
    commits = recorded_commits(template / "CHANGELOG.md")
    for version in versions[:2]:
        _ensure_tag(template, version, commits.get(version), origin)
    return f"v{versions[1]}"


def _ensure_tag(template: Path, version: str, recorded: str | None, origin: str) -> None:
    tag = f"v{version}"
    tagged = _tag_commit(template, tag)
    if tagged:
        if recorded is not None and tagged != recorded:
            raise ProofError(
                f"tag {tag} is on commit {tagged[:12]}, but CHANGELOG.md records {recorded[:12]} for "
                f"{version}: correct the record under its heading (`git rev-parse {tag}^{{commit}}`)"
            )
        return
    if recorded is None:
        raise ProofError(
            f"no git tag {tag}, and CHANGELOG.md records no `Release commit:` under [{version}]: fetch the tags "
            "(`git fetch --tags`; in CI, actions/checkout with fetch-depth: 0) or record the release's commit"
        )
    kind = _object_type(template, recorded)
    if kind == "tag":
        raise ProofError(
            f"CHANGELOG.md records {recorded[:12]} for {version}: that is an annotated tag object, not a commit; "
            f"record `git rev-parse {tag}^{{commit}}`"
        )
    if kind != "commit" and origin:
        _deepen(template, origin)  # it may bring the tag too: then the tag and the record must agree
        if _tag_commit(template, tag):
            _ensure_tag(template, version, recorded, "")
            return
        kind = _object_type(template, recorded)
    if kind != "commit":
        raise ProofError(
            f"release {tag}'s commit {recorded[:12]} (CHANGELOG.md) is not in this clone ({_shape(template)}): "
            "the proof needs the history; clone without --depth (in CI, actions/checkout with fetch-depth: 0)"
        )
    newest = releases_of(git(template, "show", f"{recorded}:CHANGELOG.md"))
    if not newest or newest[0] != version:
        raise ProofError(
            f"CHANGELOG.md records commit {recorded[:12]} for {version}, but that commit's CHANGELOG.md "
            f"has {newest[:1] or 'no release'} as its newest: the record is wrong"
        )
    git(template, "tag", "-a", tag, "-m", f"{tag}, from CHANGELOG.md's record", recorded)
    print(f"upgrade proof: {tag} tagged on {recorded[:12]} in the proof's clone, from CHANGELOG.md's record")


def _tag_commit(template: Path, tag: str) -> str:
    """The commit `tag` is on here, or "" without such a tag."""
    return run(
        template, "git", "rev-parse", "-q", "--verify", f"refs/tags/{tag}^{{commit}}", check=False
    ).stdout.strip()


def _object_type(template: Path, name: str) -> str:
    """`commit`, `tag`... for an object this clone holds; "" for one it does not."""
    return run(template, "git", "cat-file", "-t", name, check=False).stdout.strip()


def _shallow(template: Path) -> bool:
    return run(template, "git", "rev-parse", "--is-shallow-repository", check=False).stdout.strip() == "true"


def _deepen(template: Path, origin: str) -> None:
    """Fetch the whole history, with tags, from `origin` (best effort: the caller checks what arrived)."""
    run(
        template,
        "git",
        "fetch",
        "--quiet",
        "--tags",
        *(["--unshallow"] if _shallow(template) else []),
        origin,
        check=False,
    )


def _shape(template: Path) -> str:
    commits = run(template, "git", "rev-list", "--count", "HEAD", check=False).stdout.strip() or "?"
    return f"{commits} commits{', shallow' if _shallow(template) else ''}"


def copy_fork(template: Path, ref: str, destination: Path) -> None:
    """`copier copy` of the template at `ref` with the fork's answers."""
    data = [item for key, value in ANSWERS.items() for item in ("--data", f"{key}={_yaml(value)}")]
    copier = str(Path(sys.executable).with_name("copier"))
    run(
        ROOT,
        copier,
        "copy",
        "--trust",
        "--defaults",
        "--quiet",
        "--vcs-ref",
        ref,
        *data,
        str(template),
        str(destination),
    )


def _yaml(value: Any) -> str:
    return value if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True).strip()


def sso_role(arn: str, account: str) -> str:
    """The fork's SSO role for a persona: same permission set name, the fork's account, AWS's SSO path."""
    return f"arn:aws:iam::{account}:role/{SSO_PATH}{arn.rsplit('/', 1)[1]}"


def map_personas(fork: Path) -> None:
    """The fork's first day: its SSO roles in the stack files and in every project, in each account."""
    accounts = {environment: ANSWERS[f"{environment}_account"] for environment in ("dev", "staging", "prod")}
    for environment, account in accounts.items():
        path = fork / f"Pulumi.{environment}.yaml"
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        document["config"]["mlops:identity"]["personas"] = {
            "platformAdmins": [f"arn:aws:iam::{account}:role/{SSO_PATH}AWSReservedSSO_PlatformAdmin_0a1b2c3d4e5f6a7b"],
            "auditors": [f"arn:aws:iam::{account}:role/{SSO_PATH}AWSReservedSSO_Auditor_1b2c3d4e5f6a7b8c"],
        }
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    approver = "AWSReservedSSO_ModelApprover_2c3d4e5f6a7b8c9d"
    for path in sorted(fork.glob("projects/*/project.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for environment, sections in document.get("environments", {}).items():
            personas = sections.get("personas") or {}
            personas = {key: [sso_role(arn, accounts[environment]) for arn in arns] for key, arns in personas.items()}
            if environment == "prod" and not personas.get("modelApprovers"):
                personas["modelApprovers"] = [f"arn:aws:iam::{accounts['prod']}:role/{SSO_PATH}{approver}"]
            sections["personas"] = personas
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def conflicting_line(template: Path, before: str, after: str) -> tuple[str, str]:
    """A blueprint-owned Python file and one of its lines that the release changes: a local edit there collides."""
    for name in git(template, "diff", "--name-only", before, after, "--", "*.py").split():
        if fork_owns(name):
            continue
        diff = git(template, "diff", "--unified=0", before, after, "--", name)
        removed = [line[1:] for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
        lines = git(template, "show", f"{before}:{name}").splitlines()
        unique = [line for line in removed if len(line.strip()) > 8 and lines.count(line) == 1]  # the edit hits it
        if unique:
            return name, unique[0]
    raise ProofError(f"no blueprint Python line changes between {before} and {after}: nothing to collide with")


def untouched_file(template: Path, before: str, after: str) -> str:
    """A blueprint-owned Markdown file the release leaves alone: a local edit there must survive.

    docs/ first; then any other Markdown file but the generated policies/RULES.md (`mlops policy docs` rewrites
    it), so that a release that touches every page of docs/ still leaves the proof a file to keep an edit in.
    """
    changed = set(git(template, "diff", "--name-only", before, after).split())
    listed = [name for name in git(template, "ls-tree", "-r", "--name-only", before).split() if name.endswith(".md")]
    candidates = sorted(
        (name for name in listed if name not in changed and not fork_owns(name) and name != "policies/RULES.md"),
        key=lambda name: (not name.startswith("docs/"), name),
    )
    if not candidates:
        raise ProofError(f"every blueprint Markdown file changes between {before} and {after}")
    return candidates[0]


def customise(fork: Path, template: Path, before: str, after: str) -> dict[str, str]:
    """A team's edits; returns the local edits it made to blueprint files (path: what to find after)."""
    run(fork, "make", ".venv/.synced")
    mlops = str(fork / ".venv" / "bin" / "mlops")
    run(fork, mlops, "project", "new", "claimsx", "--team", "claims-ds")
    map_personas(fork)
    first = fork / "projects" / ANSWERS["first_project"] / "project.yaml"
    text = first.read_text(encoding="utf-8")
    first.write_text(text.replace("metricThreshold: 0.7", "metricThreshold: 0.82", 1), encoding="utf-8")
    levels = fork / "policies" / "enforcement.yaml"
    edits: dict[str, str] = {}
    if levels.is_file():  # a release that has it blueprint-owned: the fork raises a level, a rename must carry it
        text = levels.read_text(encoding="utf-8")
        levels.write_text(text.replace("cost-endpoint-instances: advisory", "cost-endpoint-instances: mandatory"))
        edits["policies/enforcement.yaml"] = "cost-endpoint-instances: mandatory"
        edits["policies/RULES.md"] = "| `cost-endpoint-instances` | cost | advisory | mandatory | mandatory |"
    regenerate(fork)
    name, line = conflicting_line(template, before, after)
    path = fork / name
    path.write_text(path.read_text(encoding="utf-8").replace(line, line + LOCAL_EDIT, 1), encoding="utf-8")
    kept = untouched_file(template, before, after)
    with (fork / kept).open("a", encoding="utf-8") as handle:
        handle.write(f"\n{LOCAL_EDIT.strip()}: our on-call rota is in the wiki.\n")
    edits[kept] = f"{LOCAL_EDIT.strip()}: our on-call rota is in the wiki."
    edits[name] = line + LOCAL_EDIT
    return edits


def regenerate(fork: Path) -> None:
    """What a fork runs after changing a level or taking an upgrade: the pack configs and RULES.md's levels."""
    run(fork, "make", ".venv/.synced")
    mlops = str(fork / ".venv" / "bin" / "mlops")
    run(fork, mlops, "policy", "config")
    run(fork, mlops, "policy", "docs")


def tracked(fork: Path) -> dict[str, bytes]:
    """Every tracked file's bytes."""
    return {name: (fork / name).read_bytes() for name in git(fork, "ls-files", "-z").split("\0") if name}


def resolve_taking_theirs(path: Path) -> None:
    """Keep the release's side (`after updating`) of each inline conflict block in `path`."""
    kept: list[str] = []
    side = ""
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        marker = next((edge for edge in EDGE if line.rstrip("\n").startswith(edge)), None)
        if marker is not None:
            side = {"<<<<<<< before updating": "ours", "=======": "theirs", ">>>>>>> after updating": ""}[marker]
        elif side != "ours":
            kept.append(line)
    path.write_text("".join(kept), encoding="utf-8")


def customised_fork(template: Path, before: str, head: str, fork: Path) -> dict[str, str]:
    """Steps 1 and 2: the fork at `before`, customised and committed; returns its local edits of blueprint files."""
    copy_fork(template, before, fork)
    git(fork, "init", "-q", "-b", "main")
    git(fork, "add", "-A")
    git(fork, "commit", "-qm", f"Fork of the blueprint at {before}")
    edits = customise(fork, template, before, head)
    git(fork, "add", "-A")
    git(fork, "commit", "-qm", "Our accounts, SSO roles, a second project, a threshold and local edits")
    return edits


def upgrade_and_check(fork: Path, head: str, edits: dict[str, str]) -> list[str]:
    """Step 3 and the upgrade's own assertions; returns the blueprint files whose local edits must survive."""
    owned_before = {name: data for name, data in tracked(fork).items() if fork_owns(name)}
    mlops = str(fork / ".venv" / "bin" / "mlops")
    upgraded = run(fork, mlops, "upgrade", "--to", head, check=False)
    print(upgraded.stdout + upgraded.stderr)
    conflicted = [name for name, text in edits.items() if text.endswith(LOCAL_EDIT)]
    named = re.search(r"conflicted with your local edits: (.*?); keep", upgraded.stderr)
    reported = sorted(named.group(1).split(", ")) if named else []
    if upgraded.returncode != 1 or reported != sorted(conflicted):
        raise ProofError(
            f"`mlops upgrade` exited {upgraded.returncode} naming {reported} as conflicts, not {conflicted}"
        )

    after = {name: (fork / name).read_bytes() for name in owned_before if (fork / name).is_file()}
    changed = sorted(name for name, data in owned_before.items() if after.get(name) != data)
    if changed:
        raise ProofError(f"the upgrade touched fork-owned files: {changed}")
    print(f"fork-owned files byte-identical: {len(owned_before)}")

    for old, new in RENAMED.items():
        if old in edits and edits[old] not in (fork / new).read_text(encoding="utf-8"):
            raise ProofError(f"the rename {old} -> {new} lost the fork's edit {edits[old]!r}")
        if (fork / old).exists():
            raise ProofError(f"{old} is still there: the release's migration did not move it to {new}")
    for name in conflicted:
        resolve_taking_theirs(fork / name)
    regenerate(fork)  # README: after an upgrade, the generated policy files from the merged rules and levels
    kept = [name for name in edits if name not in conflicted and name not in RENAMED]
    for name in kept:
        if edits[name] not in (fork / name).read_text(encoding="utf-8"):
            raise ProofError(f"the fork's local edit in {name} did not survive the upgrade")
    return kept


def owners(fork: Path) -> Ownership:
    """The files of a freshly generated fork (no .git), split into the fork's and the blueprint's."""
    return split(sorted(str(p.relative_to(fork)) for p in fork.rglob("*") if p.is_file() and ".git" not in p.parts))


def readme_count_error(readme: Path, owned: Ownership) -> str:
    """Why README's count of fork- and blueprint-owned files is not what a fresh fork holds (`owned`); "" if it is."""
    counts = f"{len(owned.fork)} files the fork owns and {len(owned.blueprint)} files the blueprint owns"
    if counts in " ".join(readme.read_text(encoding="utf-8").split()):
        return ""
    return f"README's count of owned files is stale: a fork made at HEAD holds {counts!r}"


def check_against_head(fork: Path, template: Path, head: str, kept: list[str], fresh: Path) -> None:
    """Every blueprint file of the upgraded fork is HEAD's, as a fork made at HEAD has it, but for `kept`."""
    copy_fork(template, head, fresh)
    expected = owners(fresh)
    differ = [
        name
        for name in expected.blueprint
        if name not in kept
        and (not (fork / name).is_file() or (fork / name).read_bytes() != (fresh / name).read_bytes())
    ]
    if differ:
        raise ProofError(f"blueprint files that are not HEAD's after the upgrade: {differ}")
    stale = [name for name in split(sorted(tracked(fork))).blueprint if not (fresh / name).exists()]
    if stale:
        raise ProofError(f"blueprint files HEAD removed are still in the fork: {stale}")
    release = yaml.safe_load((fork / ANSWERS_FILE).read_text(encoding="utf-8"))["_commit"]
    print(f"blueprint files as HEAD has them: {len(expected.blueprint)}; answers file now at {release}")
    stale_count = readme_count_error(template / "README.md", expected)
    if stale_count:
        raise ProofError(stale_count)


def check_upgraded_fork(fork: Path) -> None:
    """Step 4's end: commit the upgrade, count the owners' files, then validate, plan and `make test` in it."""
    release = yaml.safe_load((fork / ANSWERS_FILE).read_text(encoding="utf-8"))["_commit"]
    mlops = str(fork / ".venv" / "bin" / "mlops")
    git(fork, "add", "-A")
    git(fork, "commit", "-qm", f"Upgrade to {release}")
    owned = split(sorted(tracked(fork)))
    print(f"the upgraded fork: {len(owned.fork)} files the fork owns, {len(owned.blueprint)} the blueprint owns")
    for command in (("validate",), ("plan", "--stack", "dev", "--json", "out/plan-dev.json")):
        run(fork, mlops, *command)
        print(f"upgraded fork: mlops {' '.join(command)} passed")
    started = time.perf_counter()
    result = subprocess.run(["make", "test"], cwd=fork, check=False)  # noqa: S607
    print(f"upgraded fork: make test exited {result.returncode} after {time.perf_counter() - started:.0f} s")
    if result.returncode != 0:
        raise ProofError("make test failed in the upgraded fork (its output is above)")


def prove(work: Path) -> None:
    """The whole proof in `work`; ProofError on the first assertion that does not hold."""
    template, fork = work / "template", work / "fork"
    run(work, "git", "clone", "--quiet", str(ROOT), str(template))
    head = git(template, "rev-parse", "HEAD").strip()
    origin = run(ROOT, "git", "remote", "get-url", "origin", check=False).stdout.strip()
    before = previous_release(template, origin)
    print(f"upgrade proof: {before} -> HEAD {head[:12]} in {work}")
    edits = customised_fork(template, before, head, fork)
    kept = upgrade_and_check(fork, head, edits)
    check_against_head(fork, template, head, kept, work / "fresh")
    check_upgraded_fork(fork)


def main() -> int:
    """Run the proof in a temporary folder (or --keep DIR), report and exit 0 only if every assertion held."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="work here and keep it (default: a temporary folder)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="upgrade-proof-"))
    if work.exists() and any(work.iterdir()):
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    try:
        prove(work)
    except ProofError as failure:
        print(f"upgrade proof failed: {failure}", file=sys.stderr)
        return 1
    if args.keep is None:
        shutil.rmtree(work)
    print("upgrade proof passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
