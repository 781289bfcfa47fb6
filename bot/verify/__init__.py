"""The verification engine: identity (registry, lookalikes), posture, message verification, advice."""
