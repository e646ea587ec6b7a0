"""brainbridge: bridge package."""
