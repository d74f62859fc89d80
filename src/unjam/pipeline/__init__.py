"""The stages of a run, in order: discover the files and their packages (``discovery``,
``packages``), read them (``source``), summarise and pre-filter them (``prefilter``),
analyse, link and run the passes (``runner``), verify what the passes wrote
(``verify``); ``codegen`` and ``lines`` serve the passes' text and line numbers.
The cache (``unjam.cache``) sits between reading and everything after it."""
