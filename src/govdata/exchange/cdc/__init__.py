"""Change-data-capture readers: row changes of a source table, in batches with positions.

``base`` holds the shapes every reader returns (``Change``, ``ChangeBatch``), the
``ChangeStream`` protocol and ``collapse`` (a batch's net effect per key, as Arrow);
``mysql`` reads a MariaDB/MySQL binary log, ``postgres`` a pgoutput logical-replication
slot. The pipeline runner that merges the batches into the lake is ``exchange/engine/cdc.py``.
"""
