"""Item pipelines, one concern each; their order is set (and explained) in settings.ITEM_PIPELINES."""
