"""schemathesis hooks of `make fuzz-api` (tools/fuzz-api/schemathesis.toml).

A salary's min must not exceed its max, nor a location's min_utc_offset its max_utc_offset
(an absent one counts as 0 in both): rules between two fields that JSON Schema cannot state.
Generated pairs are put in order, so that a schema-valid job is a valid one; a body that
violates the schema elsewhere still does.
"""

import schemathesis


@schemathesis.hook
def map_case(context, case):
    # map_case, not map_body: the coverage phase applies only the former.
    body = case.body
    if isinstance(body, dict):
        location = body.get("location")
        timezones = location.get("timezones") if isinstance(location, dict) else None
        _order(body.get("salary"), "min", "max", 0)
        _order(timezones, "min_utc_offset", "max_utc_offset", 0)
    return case


def _order(pair, low_key, high_key, absent):
    if not isinstance(pair, dict):
        return
    low, high = pair.get(low_key, absent), pair.get(high_key, absent)
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
    if numbers and low > high:
        pair[low_key], pair[high_key] = high, low
