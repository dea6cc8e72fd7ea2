"""The mistakes a team makes adapting the stack files are refused by validate, plan and policy check alike.

Each expectation comes from AWS's rules, not from our code: the zones a region has (DescribeAvailabilityZones
as moto 5.2.5 records it), the five addresses AWS reserves in every subnet (VPC user guide, "Subnet CIDR
blocks"), the path of IAM Identity Center roles, and the AWS provider's own configuration schema.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic.alias_generators import to_camel

from infra.plan.evaluate import evaluate_stack
from kernel import ConfigError
from kernel.stack_set import check_project
from mlops.validation import validate_stacks
from tests.cli.helpers import run
from tests.helpers import FIXTURE_STACKS, load_view, shipped_settings, where, write_stack

ZONES_OF_US_EAST_1 = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"]
"""DescribeAvailabilityZones in us-east-1 (moto 5.2.5's table of what AWS answers)."""


def fixture_project() -> dict[str, dict[str, Any]]:
    """The three fixture stack files, as data to edit; `write_project` writes them."""
    return {stack: copy.deepcopy(shipped_settings(FIXTURE_STACKS, stack)) for stack in ("dev", "staging", "prod")}


def write_project(root: Path, stacks: dict[str, dict[str, Any]]) -> Path:
    for stack, settings in stacks.items():
        write_stack(root, stack, settings)
    return root


def refusals(root: Path, stack: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The problem lines of `stack` from `mlops validate` and from a plan (which policy check and cost run)."""
    assert validate_stacks(root, [stack]) is None
    validated = [line.strip().removeprefix("error: ") for line in capsys.readouterr().err.splitlines()]
    with pytest.raises(ConfigError) as planned:
        evaluate_stack(stack, root)
    with pytest.raises(ConfigError) as checked:
        check_project(stack, root)  # what `mlops policy check --plan FILE` checks the plan's stack with
    assert planned.value.lines() == checked.value.lines()
    for line in planned.value.lines():
        assert line in validated, (line, validated)
    return planned.value.lines()


def test_an_availability_zone_the_region_lacks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stacks = fixture_project()
    stacks["prod"]["aws:region"] = "us-east-1"
    stacks["prod"]["mlops:network"]["availabilityZones"] = ["us-east-1a", "us-east-1b", "us-east-1g"]
    (line,) = refusals(write_project(tmp_path, stacks), "prod", capsys)
    assert line == (
        "Pulumi.prod.yaml: mlops:network.availabilityZones[2]: 'us-east-1g' is not an availability zone of "
        f"us-east-1 (it has {', '.join(ZONES_OF_US_EAST_1)})"
    )


def test_zone_table_is_what_the_emulator_of_ec2_answers() -> None:
    """zones.json must equal moto's record of DescribeAvailabilityZones for every SageMaker region."""
    import boto3
    from moto import mock_aws

    from kernel.regions import region_zones, sagemaker_regions

    with mock_aws():
        for region in sorted(sagemaker_regions()):
            answer = boto3.client("ec2", region_name=region).describe_availability_zones()["AvailabilityZones"]
            assert region_zones()[region] == tuple(sorted(zone["ZoneName"] for zone in answer)), region


def test_a_vpc_too_small_for_its_endpoints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stacks = fixture_project()
    stacks["prod"]["mlops:network"]["vpcCidr"] = "10.42.0.0/24"  # /28 subnets: 16 addresses, 5 reserved by AWS
    (line,) = refusals(write_project(tmp_path, stacks), "prod", capsys)
    endpoints = len(load_view(FIXTURE_STACKS / "Pulumi.prod.yaml").network.interface_endpoints)
    assert line.startswith(
        f"Pulumi.prod.yaml: mlops:network.vpcCidr: a /24 VPC gives /28 subnets with {16 - 5} usable addresses each "
        "(AWS reserves 5), but a subnet needs "
    )
    assert f"one per interface endpoint ({endpoints})" in line and line.endswith("or larger")
    stacks["prod"]["mlops:network"]["vpcCidr"] = "10.42.0.0/22"
    write_project(tmp_path, stacks)
    assert evaluate_stack("prod", tmp_path).of_type("aws:ec2/subnet:Subnet")


def test_a_persona_from_another_account(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stacks = fixture_project()
    staging_approver = stacks["staging"]["mlops:identity"]["personas"]["modelApprovers"][0]
    stacks["prod"]["mlops:identity"]["personas"]["modelApprovers"] = [staging_approver]
    (line,) = refusals(write_project(tmp_path, stacks), "prod", capsys)
    staging, prod = stacks["staging"]["mlops:accountId"], stacks["prod"]["mlops:accountId"]
    assert line.startswith(  # a team persona: named in the project's file
        f"{where('prod', 'mlops:identity.personas.modelApprovers[0]')}: is in account {staging}, "
        f"not this stack's account {prod}"
    )


def test_an_sso_role_without_its_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """IAM Identity Center creates permission-set roles under aws-reserved/sso.amazonaws.com/[<region>/]."""
    stacks = fixture_project()
    account = stacks["prod"]["mlops:accountId"]
    stacks["prod"]["mlops:identity"]["personas"]["auditors"] = [
        f"arn:aws:iam::{account}:role/AWSReservedSSO_Auditor_1f2a3b4c5d6e7f8a"
    ]
    (line,) = refusals(write_project(tmp_path, stacks), "prod", capsys)
    assert line.startswith("Pulumi.prod.yaml: mlops:identity.personas.auditors[0]: ")
    assert "lacks the path of IAM Identity Center roles" in line
    assert f"arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/<region>/AWSReservedSSO_Auditor_" in line


def test_reader_accounts_left_at_the_examples(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stacks = fixture_project()
    stacks["staging"]["mlops:accountId"] = "505050505050"
    stacks["prod"]["mlops:accountId"] = "606060606060"
    for stack in ("staging", "prod"):
        personas = stacks[stack]["mlops:identity"]["personas"]
        for name, arns in personas.items():
            personas[name] = [arn.replace(arn.split(":")[4], stacks[stack]["mlops:accountId"]) for arn in arns]
    readers = stacks["dev"]["mlops:registry"]["readerAccounts"]
    lines = refusals(write_project(tmp_path, stacks), "dev", capsys)
    assert lines == [
        f"Pulumi.dev.yaml: mlops:registry.readerAccounts[{index}]: {reader} is not the account of any other stack "
        "(staging 505050505050, prod 606060606060): list the accounts of the stacks that deploy this registry's models"
        for index, reader in enumerate(readers)
    ]


def test_a_broken_sibling_does_not_make_readers_look_wrong(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """dev's readers name staging's account; staging's YAML typo is staging's error only, not dev's."""
    root = write_project(tmp_path, fixture_project())
    staging = root / "Pulumi.staging.yaml"
    staging.write_text(staging.read_text(encoding="utf-8") + "  mlops:tags: {unclosed\n", encoding="utf-8")
    assert check_project("dev", root).environment == "dev"
    assert validate_stacks(root, ["dev"]) is not None
    assert validate_stacks(root) is None
    problems = [line.strip() for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(problems) == 1, problems
    assert problems[0].startswith("error: Pulumi.staging.yaml: is not valid YAML at line")


def test_prod_without_model_approvers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stacks = fixture_project()
    del stacks["prod"]["mlops:identity"]["personas"]["modelApprovers"]
    (line,) = refusals(write_project(tmp_path, stacks), "prod", capsys)
    assert line.startswith(f"{where('prod', 'mlops:identity.personas.modelApprovers')}: prod needs at least one model")


def test_a_setting_under_the_wrong_namespace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stacks = fixture_project()
    stacks["prod"] = {"mlops:region" if key == "aws:region" else key: value for key, value in stacks["prod"].items()}
    stacks["prod"]["aws:accountId"] = stacks["prod"].pop("mlops:accountId")
    lines = refusals(write_project(tmp_path, stacks), "prod", capsys)
    assert (
        "Pulumi.prod.yaml: mlops:region: is the AWS provider's setting, not the blueprint's: write it as aws:region"
        in lines
    )
    assert (
        "Pulumi.prod.yaml: aws:accountId: is a blueprint setting, not the AWS provider's: write it as mlops:accountId"
        in lines
    )


def test_key_names_are_printed_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A key that looks like an emoji code (`:x:`, `:ok:`) is named as written, not drawn as an emoji."""
    stacks = fixture_project()
    stacks["prod"]["aws:x:"] = "1"
    stacks["prod"]["mlops:ok:"] = "1"
    lines = refusals(write_project(tmp_path, stacks), "prod", capsys)
    assert any(line.startswith("Pulumi.prod.yaml: aws:x:: is not a setting of the AWS provider") for line in lines)
    assert any(line.startswith("Pulumi.prod.yaml: mlops:ok:: ") for line in lines), lines


def test_aws_keys_are_checked_against_the_provider_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every key pulumi-aws declares is accepted; any other `aws:` key is refused before `pulumi up` refuses it."""
    from importlib.metadata import version

    import pulumi_aws.config as provider_config

    assert hasattr(provider_config, "region")  # loads the lazy module: its class holds one property per key
    declared = {to_camel(name) for name, member in vars(type(provider_config)).items() if isinstance(member, property)}
    assert {"region", "profile", "defaultTags", "allowedAccountIds", "skipCredentialsValidation"} <= declared
    stacks = fixture_project()
    stacks["prod"]["aws:profile"] = "prod-admin"
    stacks["prod"]["aws:bogusSetting"] = "x"
    stacks["prod"]["aws:skipRegionValidaton"] = "true"
    lines = refusals(write_project(tmp_path, stacks), "prod", capsys)
    assert lines == [
        f"Pulumi.prod.yaml: aws:bogusSetting: is not a setting of the AWS provider (pulumi-aws {version('pulumi-aws')}), "
        "which would refuse it at `pulumi up`: remove it or fix the spelling",
        f"Pulumi.prod.yaml: aws:skipRegionValidaton: is not a setting of the AWS provider (pulumi-aws "
        f"{version('pulumi-aws')}), which would refuse it at `pulumi up`: remove it or fix the spelling "
        "(did you mean aws:skipRegionValidation?)",
    ]
    from kernel.provider import provider_keys

    assert provider_keys() == declared


def test_two_stack_files_of_one_environment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stacks = fixture_project()
    stacks["qa"] = copy.deepcopy(stacks["staging"])
    lines = refusals(write_project(tmp_path, stacks), "qa", capsys)
    assert (
        "Pulumi.qa.yaml: mlops:environment: the staging stack must be Pulumi.staging.yaml: promotion and CI find an environment's stack by its file name; rename the file"
        in lines
    )
    assert (
        "Pulumi.qa.yaml: mlops:environment: Pulumi.staging.yaml, Pulumi.qa.yaml are all staging: they would create "
        "resources with the same names; keep one stack file per environment"
    ) in lines


def test_an_unpriced_region_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A region the price table lacks would make every budget pass on $0: validation refuses it."""
    from kernel.regions import PRICES, sagemaker_regions

    priced = sorted(yaml.safe_load(PRICES.read_text(encoding="utf-8"))["regions"])
    region = next(r for r in sorted(sagemaker_regions()) if r not in priced)
    stacks = fixture_project()
    stacks["prod"]["aws:region"] = region
    stacks["prod"]["mlops:network"]["availabilityZones"] = [f"{region}a", f"{region}b"]
    lines = refusals(write_project(tmp_path, stacks), "prod", capsys)
    assert lines[0] == (
        f"Pulumi.prod.yaml: aws:region: {region!r} has no prices in kernel/prices.yaml, so no budget could be "
        f"checked: add the region's prices there (with their source and date) or use a priced region ({', '.join(priced)})"
    )


def test_an_unquoted_account_id_read_as_octal(tmp_path: Path) -> None:
    path = write_stack(tmp_path, "prod", fixture_project()["prod"])
    text = path.read_text(encoding="utf-8")
    account = yaml.safe_load(text)["config"]["mlops:accountId"]
    path.write_text(text.replace(f"'{account}'", "061356675650"), encoding="utf-8")
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["config"]["mlops:accountId"] == 0o61356675650
    with pytest.raises(ConfigError) as caught:
        load_view(path)
    assert caught.value.lines() == [
        f"Pulumi.prod.yaml: mlops:accountId: YAML reads the unquoted 061356675650 as the octal number {0o61356675650}: "
        "quote it, '061356675650'"
    ]


def test_messages_keep_their_patterns_and_brackets(tmp_path: Path) -> None:
    """Terminal markup must not eat `[a-z0-9]` out of a message: the user sees the rule as written."""
    stacks = fixture_project()
    stacks["dev"]["mlops:identity"]["stateBucket"] = "My_State_Bucket"
    stacks["dev"]["mlops:training"]["tracking"]["maintenanceWindow"] = "sunday 3am"
    write_project(tmp_path, stacks)
    result = run("validate", "--stack", "dev", cwd=tmp_path)
    assert result.returncode == 1
    assert (
        "mlops:identity.stateBucket: 'My_State_Bucket' is not an S3 bucket name: 3 to 63 characters of lower-case "
        "letters, digits, dots and hyphens, starting and ending with a letter or digit"
    ) in " ".join(result.stderr.split())
    from kernel.models import TrackingConfig

    (pattern,) = [
        m.pattern for m in TrackingConfig.model_fields["maintenance_window"].metadata if hasattr(m, "pattern")
    ]
    assert f"String should match pattern '{pattern}'" in "".join(result.stderr.split("\n  "))


def test_a_stack_name_that_can_never_exist(project_root: Path, tmp_path: Path) -> None:
    result = run("plan", "--stack", "qa", cwd=project_root)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert " ".join(result.stderr.split()) == (
        "error: Pulumi.qa.yaml: there is no stack 'qa' and there cannot be one: each environment "
        "(dev, staging, prod) has one stack named after it (stack files here: dev, staging, prod)"
    )
    write_stack(tmp_path, "dev", fixture_project()["dev"])
    missing = run("plan", "--stack", "prod", cwd=tmp_path)
    assert missing.returncode == 1
    assert (
        missing.stderr.strip()
        == "error: Pulumi.prod.yaml: no such stack file; create Pulumi.prod.yaml next to Pulumi.yaml"
    )


def test_validate_plan_and_policy_check_refuse_alike_on_the_command_line(tmp_path: Path) -> None:
    stacks = fixture_project()
    plan_file = tmp_path / "plan.json"
    write_project(tmp_path, stacks)
    assert run("plan", "--stack", "prod", "--json", str(plan_file), cwd=tmp_path).returncode == 0
    stacks["prod"]["mlops:network"]["availabilityZones"][0] = "eu-west-1z"
    write_project(tmp_path, stacks)
    expected = (
        "Pulumi.prod.yaml: mlops:network.availabilityZones[0]: 'eu-west-1z' is not an availability zone of eu-west-1"
    )
    for command in (("validate",), ("plan", "--stack", "prod"), ("policy", "check", "--plan", str(plan_file)),
                    ("policy", "check", "--stack", "prod"), ("cost", "--stack", "prod")):  # fmt: skip
        result = run(*command, cwd=tmp_path)
        assert result.returncode == 1 and "Traceback" not in result.stderr, command
        assert expected in " ".join(result.stderr.split()), (command, result.stderr)
    assert json.loads(plan_file.read_text())["stack"] == "prod"
