"""One ComponentResource per file; each takes typed Args and never reads Pulumi config itself."""
