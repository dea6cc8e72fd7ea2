"""The CrossGuard entry point: `pulumi preview --policy-pack policies --policy-pack-config policies/config/<env>.json`.

Building the pack starts the policy server and waits for the engine, so only the Pulumi CLI runs this
module; everything else (tests, `mlops policy check`) imports `policies.crossguard` or the rules.
"""

from pulumi_policy import EnforcementLevel, PolicyPack

from policies.crossguard import policies

PolicyPack(name="mlops-blueprint", enforcement_level=EnforcementLevel.MANDATORY, policies=policies())
