"""brainbridge: ann package."""
