"""Model lifecycle operations CI and people run: review, approve, promote, roll back, smoke-test."""


class LifecycleError(RuntimeError):
    """A lifecycle step that must not proceed; the message says what is wrong and what to do."""
