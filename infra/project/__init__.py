"""The project program (one stack per project and environment): `pulumi up` in projects/ runs its `__main__`."""
