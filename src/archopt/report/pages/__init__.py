"""Report pages, one module per kind of folder: a run, several runs side by side, and (as
they land) a study or search and a compression."""
