"""Resolve a Docker USER string to numeric ids with the image's /etc/passwd and /etc/group."""

from __future__ import annotations


def _table(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[0] and not line.startswith("#"):
            out.setdefault(fields[0], fields)
    return out


def resolve_user(user: str, passwd: str = "", group: str = "") -> tuple[int, int]:
    """``"app"``, ``"1000"``, ``"app:app"`` or ``"1000:1000"`` -> (uid, gid). Unknown names raise KeyError."""
    if not user:
        return 0, 0
    name, _, grp = user.partition(":")
    users = _table(passwd)
    if name.isdigit():
        uid = int(name)
        gid = next((int(f[3]) for f in users.values() if len(f) > 3 and f[2] == name and f[3].isdigit()), uid)
    else:
        if name not in users:
            raise KeyError(f"user {name!r} is not in the image's /etc/passwd")
        uid = int(users[name][2])
        gid = int(users[name][3]) if len(users[name]) > 3 and users[name][3].isdigit() else uid
    if grp:
        if grp.isdigit():
            gid = int(grp)
        else:
            groups = _table(group)
            if grp not in groups:
                raise KeyError(f"group {grp!r} is not in the image's /etc/group")
            gid = int(groups[grp][2])
    return uid, gid
