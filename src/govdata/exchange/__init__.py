"""Collection and exchange (归集): mounts, pipelines, runs, return flow, lineage, reports."""
