"""The alert rules, one module each; ``RULES`` lists them in the order pages show them."""

from __future__ import annotations

from govdata.security.anomaly.rules import (
    credentials,
    denied,
    enumeration,
    new_address,
    off_hours,
    volume,
)
from govdata.security.anomaly.rules.base import RuleSpec

RULES: dict[str, RuleSpec] = {
    r.code: r
    for r in (
        volume.RULE,
        off_hours.RULE,
        enumeration.RULE,
        denied.RULE,
        credentials.RULE,
        new_address.RULE,
    )
}
