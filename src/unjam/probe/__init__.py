"""``unjam probe``: what blocks the event loop while the project's own tests run."""
