"""Landing files -> the warehouse's raw schema, validated against the raw source contract."""
