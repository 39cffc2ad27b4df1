"""The demo's department source systems: one module per system, one database each.

``build.build_sources`` generates them batch by batch from the synthetic
household register and loads them into SQLite files or MariaDB databases;
``common`` documents the deliberate inconsistencies between systems.
"""
