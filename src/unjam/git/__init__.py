"""Writing results into the user's repository: the branch and its commits (``gitflow``,
``commits``), atomic writes (``atomic``), the journal that puts back a killed landing
(``recovery``) and monorepo migrations (``migrate``)."""
