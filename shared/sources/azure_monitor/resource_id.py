"""Azure Resource Manager resource ids, split into the parts a reader needs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResourceId:
    """The parts of an Azure Resource Manager id that a reader needs."""

    raw: str
    subscription: str | None
    resource_group: str | None
    resource_type: str | None  # "microsoft.compute/virtualmachines"
    name: str | None  # the last segment; None for a subscription or resource group id

    @classmethod
    def parse(cls, raw: str) -> ResourceId:
        parts = [part for part in raw.strip().split("/") if part]
        lowered = [part.lower() for part in parts]

        def after(key: str) -> str | None:
            if key in lowered and lowered.index(key) + 1 < len(parts):
                return parts[lowered.index(key) + 1]
            return None

        resource_type = name = None
        if "providers" in lowered:
            at = lowered.index("providers")
            tail = parts[at + 1 :]
            # namespace, then type/name pairs: Microsoft.Sql/servers/a/databases/b → type servers/databases
            if len(tail) >= 3:
                resource_type = "/".join([tail[0], *tail[1::2]])
                name = tail[-1]
        elif "resourcegroups" not in lowered and "subscriptions" not in lowered and parts:
            name = parts[-1]  # not an ARM id at all (a computer name, say): show it as it is
        return cls(raw, after("subscriptions"), after("resourcegroups"), resource_type, name)

    @property
    def display_name(self) -> str | None:
        return self.name or self.resource_group


def subscription_of(resource_id: str | None) -> str | None:
    return ResourceId.parse(resource_id).subscription if resource_id else None
