"""The archive as one dataset: every committed run under OUTPUT_DIR folded, in manifest order, into
the current archive (one row per article, its latest revision) and every revision, written as
JSONL, Parquet and an SQLite database with a full-text index (``scrapy export``).

No Scrapy here: ``fold`` reads the manifests as README's consumer rule says and folds records
(pure functions), ``tables`` defines the two tables once, ``store`` is the SQLite database that is
also the fold's incremental state, ``jsonl`` and ``parquet`` write the other formats from it,
``search`` queries its index, ``run`` puts the steps in order, ``cli`` is the command line that
``scrapy export`` and the ``sichuanpeace-export`` script share.
"""
