"""The verification engine: identity (registry, lookalikes), posture, messages, advice."""
