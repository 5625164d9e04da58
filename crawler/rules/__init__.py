"""Rules as data, each with a comment: the selectors and anchors extraction tries (``selectors``),
the boilerplate the cleaner removes (``boilerplate``), the registry of the site family (``sites``)."""
