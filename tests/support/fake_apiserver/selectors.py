"""Selectors: labelSelector and fieldSelector query strings, and metav1.LabelSelector."""

import re

from .errors import ApiError


def split_selector(text):
    """Splits a label selector on commas that are not inside parentheses."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(text):
    """A list of predicates over a labels dict; raises ApiError on a malformed selector."""
    predicates = []
    for term in split_selector(text):
        m = re.fullmatch(r"(\S+)\s+(in|notin)\s+\((.*)\)", term)
        if m:
            key, op = m.group(1), m.group(2)
            values = {v.strip() for v in m.group(3).split(",") if v.strip()}
            if op == "in":
                predicates.append(lambda l, k=key, vs=values: l.get(k) in vs)
            else:
                predicates.append(lambda l, k=key, vs=values: l.get(k) not in vs)
            continue
        m = re.fullmatch(r"([^=!\s]+)\s*(==|=|!=)\s*(\S*)", term)
        if m:
            key, op, val = m.groups()
            if op == "!=":
                predicates.append(lambda l, k=key, v=val: l.get(k) != v)
            else:
                predicates.append(lambda l, k=key, v=val: l.get(k) == v)
            continue
        m = re.fullmatch(r"(!?)([^=!\s()]+)", term)
        if m:
            negate, key = m.group(1) == "!", m.group(2)
            predicates.append(lambda l, k=key, n=negate: (k in l) != n)
            continue
        raise ApiError(400, "BadRequest", f"unable to parse requirement: {term!r}")
    return predicates


# Field selectors the real server supports for these kinds (a small, honest subset).
FIELD_GETTERS = {
    "metadata.name": lambda o: o["metadata"].get("name", ""),
    "metadata.namespace": lambda o: o["metadata"].get("namespace", ""),
}
POD_FIELD_GETTERS = {
    "status.phase": lambda o: o.get("status", {}).get("phase", ""),
    "spec.nodeName": lambda o: o.get("spec", {}).get("nodeName", ""),
    "spec.restartPolicy": lambda o: o.get("spec", {}).get("restartPolicy", ""),
}


def parse_field_selector(text, plural):
    """Predicates over whole objects for `fieldSelector` (=, ==, !=)."""
    getters = dict(FIELD_GETTERS, **(POD_FIELD_GETTERS if plural == "pods" else {}))
    predicates = []
    for term in split_selector(text):
        m = re.fullmatch(r"([^=!\s]+)\s*(==|=|!=)\s*(.*)", term)
        if not m:
            raise ApiError(400, "BadRequest", f"invalid selector: '{text}'; can't understand "
                                              f"'{term}'")
        key, op, value = m.group(1), m.group(2), m.group(3).strip()
        if key not in getters:
            known = ", ".join(f'"{k}"' for k in getters)
            raise ApiError(400, "BadRequest", f'"{key}" is not a known field selector: only '
                                              f"{known}")
        getter = getters[key]
        if op == "!=":
            predicates.append(lambda o, g=getter, v=value: g(o) != v)
        else:
            predicates.append(lambda o, g=getter, v=value: g(o) == v)
    return predicates


def selector_matches(selector, labels):
    """Whether a metav1.LabelSelector (matchLabels, matchExpressions) selects `labels`."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def selector_string(selector):
    """The label-selector query string for a LabelSelector, as Scale.status.selector has it."""
    terms = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In":
            terms.append(f"{key} in ({','.join(sorted(values))})")
        elif op == "NotIn":
            terms.append(f"{key} notin ({','.join(sorted(values))})")
        elif op == "Exists":
            terms.append(key)
        elif op == "DoesNotExist":
            terms.append(f"!{key}")
    return ",".join(terms)
