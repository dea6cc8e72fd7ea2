"""The offline plan: the programs evaluated under Pulumi's mocks, recorded as the plan JSON."""
