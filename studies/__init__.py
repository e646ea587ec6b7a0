"""brainbridge: studies package."""
