"""What a run tells the user: findings in text, JSON, SARIF and GitHub formats
(``findings``), unified diffs (``diff``), per-package reports of a monorepo batch
(``batch``) and the interactive review of ``apply -i`` (``review``)."""
