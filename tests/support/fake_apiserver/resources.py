"""Resources: one row of x-subset.resources each, plus the group/version helpers."""

from .errors import ApiError


def group_of(api_version):
    return api_version.split("/")[0] if "/" in api_version else ""


def version_of(api_version):
    return api_version.split("/")[-1]


class Resource:
    """One row of x-subset.resources plus the lookups the verbs need."""

    def __init__(self, row):
        self.row = row
        self.kind, self.api_version = row["kind"], row["apiVersion"]
        self.plural, self.namespaced = row["plural"], row["namespaced"]
        self.group = group_of(self.api_version)
        self.qualified = f"{self.plural}.{self.group}" if self.group else self.plural
        self.kind_qualified = f"{self.kind}.{self.group}" if self.group else self.kind
        self.subresources = row["subresources"]
        self.has_status = "status" in self.subresources

    def details(self, name, kind=None):
        details = {"name": name} if name else {}
        if self.group:
            details["group"] = self.group
        details["kind"] = kind or self.plural
        return details

    def not_found(self, name):
        return ApiError(404, "NotFound", f'{self.qualified} "{name}" not found', self.details(name))
