"""Job handlers of the exchange engine: pipeline runs, CDC streams, reports."""

from __future__ import annotations
