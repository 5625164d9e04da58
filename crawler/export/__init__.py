"""The archive as one dataset: every committed run under OUTPUT_DIR folded, in manifest order, into
the current archive (one row per article, its latest revision) and every revision, written as
JSONL, Parquet and an SQLite database with a full-text index (``scrapy export``).

No Scrapy here: ``fold`` reads the manifests as README's consumer rule says, ``tables`` defines the
two tables once, ``store`` is the SQLite database (the fold itself, in SQL) that is also the export's
state, ``outputs`` brings the JSONL files and Parquet datasets up to it by appending what is new
(``jsonl`` and ``parquet`` write them), ``search`` queries its index, ``run`` puts the steps in order,
``cli`` is the command line that ``scrapy export`` and the ``sichuanpeace-export`` script share.
"""
