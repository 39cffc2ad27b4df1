"""The data catalog (政务数据目录): entries, versions, review, search, standards, exchange."""
