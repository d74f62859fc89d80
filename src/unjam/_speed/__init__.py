"""Everything here exists only to make unjam faster; none of it changes a result.

- ``workers``: the process pool (tasks go back to the worker that kept their tree).
- ``pickling``: field-by-field pickling of the model's slotted dataclasses.
- ``fastwalk``, ``fastscope``, ``trusted_parse``: patches of libcst's internals, each
  installed only while unjam walks or parses, and only over the exact libcst code they
  replace.
"""
