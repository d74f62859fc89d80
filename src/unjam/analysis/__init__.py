"""What is a route, what blocks, what awaits, what calls what: facts for the codemods."""
