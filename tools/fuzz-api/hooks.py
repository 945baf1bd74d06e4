"""schemathesis hooks of `make fuzz-api` (tools/fuzz-api/schemathesis.toml).

A salary's min must not exceed its max (API.md), a rule between two fields that JSON Schema
cannot state. Generated salaries are put in order, so that a schema-valid job is a valid one;
a body that violates the schema elsewhere still does.
"""

import schemathesis


@schemathesis.hook
def map_body(context, body):
    salary = body.get("salary") if isinstance(body, dict) else None
    if isinstance(salary, dict):
        low, high = salary.get("min"), salary.get("max")
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
        if numbers and low > high:
            salary["min"], salary["max"] = high, low
    return body
