"""IAM statements as pure data: who may do what, built from naming and config, never from invokes.

Every builder returns `Statement`s whose resources are ARNs derived from `Naming`, so the documents
can be linted and asserted on in unit tests without the Pulumi runtime.
"""
