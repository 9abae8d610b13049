"""The live AWS account: task definitions as Security Hub evaluates them (the latest ACTIVE revision of
each family), ECS.5's failing findings as a work list, and registering a fixed revision.

boto3 is an optional extra (``pip install 'ecs5probe[aws]'``). Region, profile and endpoint come from
the usual AWS settings (``AWS_PROFILE``, ``AWS_REGION``/``AWS_DEFAULT_REGION``, ``AWS_ENDPOINT_URL``),
so the same code runs against a test endpoint."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from typing import Any

from ecs5probe.errors import Ecs5ProbeError, UsageError
from ecs5probe.platforms.interface import Document

INSTALL = "--aws needs boto3: pip install 'ecs5probe[aws]'"
_TASKDEF_ARN = re.compile(r"^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition/([A-Za-z0-9_-]+):(\d+)$")


class AwsError(Ecs5ProbeError):
    """An AWS call failed (credentials, permissions, endpoint): the message names the call and cause."""


class Account:
    """One region of one account, through boto3 (imported here only)."""

    def __init__(self, region: str | None = None):
        try:
            import boto3
        except ImportError:
            raise UsageError(INSTALL) from None
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        try:
            self.session = boto3.session.Session(region_name=self.region)
        except Exception as e:  # a profile that does not exist, a malformed config file
            raise AwsError(f"AWS configuration: {e}") from None
        if not self.session.region_name:
            raise UsageError("no AWS region: pass --region or set AWS_REGION")
        self.region = self.session.region_name

    def _client(self, service: str) -> Any:
        return self.session.client(service)

    def _call(self, what: str, fn: Any, **kw: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(**kw)
        except ClientError as e:
            err = e.response.get("Error", {})
            raise AwsError(f"{what}: {err.get('Code', 'error')}: {err.get('Message', '')}".rstrip(": ")) from None
        except BotoCoreError as e:
            raise AwsError(f"{what}: {e}") from None

    def families(self) -> list[str]:
        """Families with an ACTIVE revision (INACTIVE families are not evaluated by Security Hub)."""
        ecs = self._client("ecs")
        out: list[str] = []
        token: str | None = None
        while True:
            kw: dict[str, Any] = {"status": "ACTIVE", **({"nextToken": token} if token else {})}
            page = self._call("ecs:ListTaskDefinitionFamilies", ecs.list_task_definition_families, **kw)
            out += page.get("families", [])
            token = page.get("nextToken")
            if not token:
                return out

    def latest(self, family: str) -> dict[str, Any]:
        """The latest ACTIVE revision of ``family`` (describe-task-definition output)."""
        ecs = self._client("ecs")
        doc = self._call(f"ecs:DescribeTaskDefinition {family}", ecs.describe_task_definition, taskDefinition=family)
        td = doc["taskDefinition"]
        if td.get("status") != "ACTIVE":
            raise AwsError(f"{family}: no ACTIVE revision")
        return dict(td)

    def documents(self, families: Sequence[str] = ()) -> Iterator[Document]:
        """The latest ACTIVE revision of each family (all the account's, or those named)."""
        named = bool(families)
        for family in families or self.families():
            try:
                td = self.latest(family)
            except AwsError:
                if named:
                    raise
                continue  # listed as ACTIVE by an endpoint that ignores the filter, yet has no ACTIVE revision
            yield Document(
                file=f"aws:{self.region}",
                line=None,
                name=f"{td.get('family', family)}:{td.get('revision')}",
                kind="aws",
                body=td,
            )

    def failing_families(self) -> list[str]:
        """Families named by the account's active, failing ECS.5 findings in Security Hub."""
        hub = self._client("securityhub")
        filters = {
            "ComplianceSecurityControlId": [{"Value": "ECS.5", "Comparison": "EQUALS"}],
            "ComplianceStatus": [{"Value": "FAILED", "Comparison": "EQUALS"}],
            "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
        }
        out: list[str] = []
        token: str | None = None
        while True:
            kw: dict[str, Any] = {"Filters": filters, "MaxResults": 100, **({"NextToken": token} if token else {})}
            page = self._call("securityhub:GetFindings", hub.get_findings, **kw)
            for f in page.get("Findings", []):
                if _is_failing_ecs5(f):
                    for r in f.get("Resources", []):
                        m = _TASKDEF_ARN.match(str(r.get("Id", "")))
                        if m and m.group(1) not in out:
                            out.append(m.group(1))
            token = page.get("NextToken")
            if not token:
                return out

    def register(self, td: dict[str, Any]) -> str:
        """Register ``td`` (register-ready) as a new revision; its ARN."""
        ecs = self._client("ecs")
        doc = self._call(f"ecs:RegisterTaskDefinition {td.get('family')}", ecs.register_task_definition, **td)
        return str(doc["taskDefinition"]["taskDefinitionArn"])


def _is_failing_ecs5(f: dict[str, Any]) -> bool:
    """The filters again, client-side (an endpoint may ignore them)."""
    compliance = f.get("Compliance") or {}
    control = compliance.get("SecurityControlId") or str(f.get("GeneratorId", "")).rsplit("/", 1)[-1]
    state = f.get("RecordState", "ACTIVE")
    return control == "ECS.5" and compliance.get("Status") == "FAILED" and state == "ACTIVE"
