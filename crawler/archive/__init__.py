"""The archive's file formats, no Scrapy: WARC records and their CDXJ index (``warc``)."""
