"""Anomaly detection and the security posture (态势感知).

Audit records are the access events. A scan (``detect.scan``) reads the records written
since its watermark, adds them to hourly access statistics, runs the enabled rules
(``rules``) over them and turns findings into alerts; alerts are then disposed of (处置)
by the security administrators (``alerts``). ``posture`` summarises it all on one page.
"""
