"""The governance stacks: organization trail archive and auditor reads; LOB dashboards
(oversight stacks, sharded by LOB count), metrics sinks and links; LOB budgets in the
management account; alarm subscriptions.

The governance account's security stack, the governance stack and an oversight stack are
synthesized once, with the cdk-nag gates, as the app would wire them.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Environment, Tags

from blueprint.model.inputs.budgets import LobBudgetInputs
from blueprint.model.inputs.governance import oversight_inputs
from blueprint.model.inputs.security import security_inputs
from blueprint.model.loader import load_config
from blueprint.model.placing import plan_for
from stacks.budgets import LobBudgetsStack
from stacks.compliance import add_compliance_gates
from stacks.governance import LOBS_PER_OVERSIGHT_STACK, GovernanceStack, LobOversightStack
from stacks.security import SecurityStack
from tests.conftest import EXAMPLE, Synthesized, feature_flags

GOVERNANCE, MANAGEMENT = "222222222222", "111111111111"
ORGANIZATION_ID = "o-exampleorg1"
RETENTION_DAYS = 2557
LOB_BUDGETS = {"claims": 5000, "marketing": 2000, "research": 8000}
ALERT_EMAILS = ["genai-platform@example.com"]
LOB_ACCOUNTS = {
    "claims": {"interactive": "444444444444", "nonprod": "555555555555", "prod": "666666666666"},
    "marketing": {"interactive": "444444444445", "nonprod": "555555555556", "prod": "666666666667"},
    "research": {"interactive": "444444444446", "nonprod": "555555555557", "prod": "666666666668"},
}
LOB_REGIONS = {"marketing": "eu-central-1"}
TRAIL_ARN = f"arn:aws:cloudtrail:eu-west-1:{MANAGEMENT}:trail/example-corp-organization-trail"
GOVERNANCE_STACK, SECURITY_STACK = "example-corp-governance", "platform-governance-security"
OVERSIGHT_STACK = "example-corp-oversight"


@dataclass
class Governance:
    outdir: Path
    templates: dict[str, dict[str, Any]]

    def resources(self, resource_type: str, stack_name: str = GOVERNANCE_STACK) -> dict[str, Any]:
        return {
            logical_id: resource
            for logical_id, resource in self.templates[stack_name]["Resources"].items()
            if resource["Type"] == resource_type
        }

    def one(self, resource_type: str) -> tuple[str, dict[str, Any]]:
        [(logical_id, resource)] = self.resources(resource_type).items()
        return logical_id, resource

    def archive_policy(self) -> tuple[str, dict[str, Any]]:
        archive, _ = self.log_archive()
        [(logical_id, resource)] = [
            (logical_id, policy)
            for logical_id, policy in self.resources("AWS::S3::BucketPolicy").items()
            if policy["Properties"]["Bucket"] == {"Ref": archive}
        ]
        return logical_id, resource

    def log_archive(self) -> tuple[str, dict[str, Any]]:
        [(logical_id, resource)] = [
            (logical_id, bucket)
            for logical_id, bucket in self.resources("AWS::S3::Bucket").items()
            if logical_id.startswith("LogArchive")
        ]
        return logical_id, resource


def stack_kwargs(app: App, **overrides: Any) -> dict[str, Any]:
    env = Environment(account=GOVERNANCE, region="eu-west-1")
    plan = plan_for(load_config(EXAMPLE))
    security = SecurityStack(
        app,
        SECURITY_STACK,
        inputs=security_inputs(plan, plan.governance),
        env=env,
    )
    kwargs: dict[str, Any] = {
        "env": env,
        "org_name": "example-corp",
        "auditor_role": "example-corp-auditor",
        "organization_id": ORGANIZATION_ID,
        "management_account": MANAGEMENT,
        "trail_retention_days": RETENTION_DAYS,
        "encryption_key": security.logs_key,
        "access_log_bucket": security.access_log_bucket,
    }
    return kwargs | overrides


def oversight_kwargs(**overrides: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "env": Environment(account=GOVERNANCE, region="eu-west-1"),
        "org_name": "example-corp",
        "lobs": oversight_inputs(plan_for(load_config(EXAMPLE))),
    }
    return kwargs | overrides


@pytest.fixture(scope="module")
def gov(tmp_path_factory: pytest.TempPathFactory) -> Governance:
    outdir = tmp_path_factory.mktemp("governance.out")
    app = App(outdir=str(outdir), context=feature_flags())
    governance = GovernanceStack(app, GOVERNANCE_STACK, **stack_kwargs(app))
    oversight = LobOversightStack(
        app,
        OVERSIGHT_STACK,
        **oversight_kwargs(),
        encryption_key=governance.chargeback_reports.encryption_key,
        account_prefix="example-corp",
    )
    # As the app labels every platform stack (what the cost-tag rule asks of its function).
    for key, value in plan_for(load_config(EXAMPLE)).governance.tags.items():
        Tags.of(oversight).add(key, value)
    add_compliance_gates(app)
    assembly = app.synth()
    return Governance(outdir, {s.stack_name: dict(s.template) for s in assembly.stacks})


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_auditor_reads_no_object_outside_the_log_archive(gov: Governance) -> None:
    _, policy = gov.one("AWS::IAM::ManagedPolicy")
    properties = policy["Properties"]
    assert properties["ManagedPolicyName"] == "example-corp-central-audit-read"
    assert properties["Roles"] == ["example-corp-auditor"]
    archive_logical_id, _ = gov.log_archive()
    archive_objects = {"Fn::Join": ["", [{"Fn::GetAtt": [archive_logical_id, "Arn"]}, "/*"]]}
    statements = properties["PolicyDocument"]["Statement"]
    assert all(statement.get("Sid") for statement in statements)
    object_reads = {"s3:GetObject", "s3:GetObjectVersion"}
    allows = [s for s in statements if s["Effect"] == "Allow"]
    for statement in allows:
        actions = set(_as_list(statement["Action"]))
        assert not any(action in ("s3:*", "s3:Get*", "*") for action in actions)
        if actions & object_reads:
            assert _as_list(statement["Resource"]) == [archive_objects]
    [deny] = [s for s in statements if s["Effect"] == "Deny"]
    assert set(_as_list(deny["Action"])) == object_reads
    assert deny["NotResource"] == archive_objects
    assert "Resource" not in deny


def test_log_archive_is_locked_encrypted_private_and_logged(gov: Governance) -> None:
    logical_id, bucket = gov.log_archive()
    properties = bucket["Properties"]
    assert bucket["DeletionPolicy"] == "Retain"
    assert properties["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Days": RETENTION_DAYS, "Mode": "COMPLIANCE"}},
    }
    [encryption] = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert "LogsKey" in json.dumps(encryption["ServerSideEncryptionByDefault"]["KMSMasterKeyID"])
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
    assert "AccessLogsBucket" in json.dumps(properties["LoggingConfiguration"])
    _, policy = gov.archive_policy()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert {
        "Action": "s3:*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Resource": [
            {"Fn::GetAtt": [logical_id, "Arn"]},
            {"Fn::Join": ["", [{"Fn::GetAtt": [logical_id, "Arn"]}, "/*"]]},
        ],
    } in statements
    delivery = next(s for s in statements if s.get("Sid") == "AllowOrganizationTrailDelivery")
    assert delivery["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert delivery["Condition"]["StringEquals"]["aws:SourceArn"] == TRAIL_ARN
    prefixes = json.dumps(delivery["Resource"])
    assert f"/AWSLogs/{MANAGEMENT}/*" in prefixes and f"/AWSLogs/{ORGANIZATION_ID}/*" in prefixes


def test_organization_trail_validates_and_encrypts_every_region(gov: Governance) -> None:
    _, trail = gov.one("AWS::CloudTrail::Trail")
    properties = trail["Properties"]
    assert properties["TrailName"] == "example-corp-organization-trail"
    for flag in (
        "IsLogging",
        "IsOrganizationTrail",
        "IsMultiRegionTrail",
        "IncludeGlobalServiceEvents",
        "EnableLogFileValidation",
    ):
        assert properties[flag] is True, flag
    assert "LogsKey" in json.dumps(properties["KMSKeyId"])
    policy_logical_id, _ = gov.archive_policy()
    assert trail["DependsOn"] == [policy_logical_id]


def test_the_trail_is_retained_and_records_writes_of_the_deployment_assets(
    gov: Governance,
) -> None:
    _, trail = gov.one("AWS::CloudTrail::Trail")
    assert trail["DeletionPolicy"] == "Retain"
    selectors = {
        s["Name"]: s["FieldSelectors"] for s in trail["Properties"]["AdvancedEventSelectors"]
    }
    assets = {f["Field"]: f for f in selectors["Writes of the CDK asset buckets"]}
    assert assets["readOnly"]["Equals"] == ["false"]
    assert assets["resources.type"]["Equals"] == ["AWS::S3::Object"]
    assert json.dumps(assets["resources.ARN"]["StartsWith"]).count(":s3:::cdk-") == 1
    reads = {
        f["Field"]: f for f in selectors["Object reads and writes of the organization's buckets"]
    }
    assert ":s3:::cdk-" in json.dumps(reads["resources.ARN"]["NotStartsWith"])


def test_logs_key_admits_cloudtrail_for_the_organization_trail_only(gov: Governance) -> None:
    keys = gov.resources("AWS::KMS::Key", SECURITY_STACK)
    statements = {
        s.get("Sid"): s
        for logical_id, key in keys.items()
        if logical_id.startswith("LogsKey")
        for s in key["Properties"]["KeyPolicy"]["Statement"]
    }
    encrypt = statements["AllowOrganizationTrailEncryption"]
    assert encrypt["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert encrypt["Action"] == "kms:GenerateDataKey*"
    assert encrypt["Condition"] == {
        "StringEquals": {"aws:SourceArn": TRAIL_ARN},
        "StringLike": {
            "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{MANAGEMENT}:trail/*"
        },
    }
    assert statements["AllowOrganizationTrailDescribeKey"]["Condition"] == {
        "StringEquals": {"aws:SourceArn": TRAIL_ARN}
    }


def test_each_lob_has_a_monthly_budget_over_its_accounts_in_the_management_account(
    example: Synthesized,
) -> None:
    [budgets_stack] = [
        s for s in example.assembly.stacks if s.stack_name.startswith("organization-budgets")
    ]
    assert budgets_stack.environment.account == MANAGEMENT
    resources = example.template_json(budgets_stack.stack_name)["Resources"]
    budgets = {
        r["Properties"]["Budget"]["BudgetName"]: r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Budgets::Budget"
    }
    assert set(budgets) == {f"example-corp-{lob}-monthly" for lob in LOB_BUDGETS}
    addresses = {
        "claims": ["claims-genai-oncall@example.com", "genai-platform@example.com"],
        "marketing": ALERT_EMAILS,
        "research": ALERT_EMAILS,
    }
    for lob, limit in LOB_BUDGETS.items():
        properties = budgets[f"example-corp-{lob}-monthly"]
        assert properties["Budget"]["BudgetLimit"] == {"Amount": limit, "Unit": "USD"}
        assert properties["Budget"]["TimeUnit"] == "MONTHLY"
        assert properties["Budget"]["CostFilters"] == {
            "LinkedAccount": list(LOB_ACCOUNTS[lob].values())
        }
        notifications = {
            (n["Notification"]["NotificationType"], n["Notification"]["Threshold"]): n
            for n in properties["NotificationsWithSubscribers"]
        }
        assert set(notifications) == {("ACTUAL", 80), ("FORECASTED", 100)}
        for notification in notifications.values():
            assert notification["Notification"]["ThresholdType"] == "PERCENTAGE"
            assert [s["Address"] for s in notification["Subscribers"]] == addresses[lob]


def test_budget_alerts_need_one_to_ten_addresses() -> None:
    lob = LobBudgetInputs("claims", 100, ("444444444444",), ())
    app = App(context=feature_flags())
    with pytest.raises(ValueError) as raised:
        LobBudgetsStack(app, "probe", org_name="example-corp", lobs=[lob])
    assert str(raised.value) == (
        "LobBudgetsStack: LOB 'claims' has 0 alert addresses; allowed: 1 to 10 (a budget "
        "notification's subscriber limit)"
    )


def test_each_lob_region_has_a_sink_and_each_lob_account_links_its_metrics(
    example: Synthesized,
) -> None:
    sinks = {
        stack.environment.region: stack.stack_name
        for stack in example.assembly.stacks
        if stack.environment.account == GOVERNANCE
        and any(
            r["Type"] == "AWS::Oam::Sink"
            for r in example.template_json(stack.stack_name)["Resources"].values()
        )
    }
    assert sinks == {
        "eu-west-1": "platform-governance-audit",
        "eu-central-1": "platform-governance-metrics-sink-eu-central-1",
    }
    configured = example.plan.config.platform.metrics_sinks
    for placement in example.plan.lob_environments():
        template = example.template(f"{placement.key}-foundation")
        template.has_resource_properties(
            "AWS::Oam::Link",
            {
                "ResourceTypes": ["AWS::CloudWatch::Metric"],
                "SinkIdentifier": configured[placement.region],
                "LinkConfiguration": {
                    "MetricConfiguration": {
                        "Filter": "Namespace IN ('AWS/Bedrock', 'AWS/SageMaker') "
                        "OR Namespace LIKE 'GenAIPlatform/%'"
                    }
                },
            },
        )
    for platform in ("platform-governance-foundation", "platform-tooling-foundation"):
        example.template(platform).resource_count_is("AWS::Oam::Link", 0)


def test_every_alarm_topic_is_subscribed_by_its_lob(example: Synthesized) -> None:
    checked = 0
    for placement in example.plan.lob_environments():
        expected = example.plan.alert_emails(placement.lob)
        for layer in ("genai", "ml"):
            resources = example.template_json(f"{placement.key}-{layer}")["Resources"]
            for logical_id, resource in resources.items():
                if resource["Type"] != "AWS::SNS::Topic":
                    continue
                subscribed = sorted(
                    r["Properties"]["Endpoint"]
                    for r in resources.values()
                    if r["Type"] == "AWS::SNS::Subscription"
                    and r["Properties"]["TopicArn"] == {"Ref": logical_id}
                    and r["Properties"]["Protocol"] == "email"
                )
                assert subscribed == sorted(expected), (placement.key, logical_id)
                checked += 1
    assert checked == 12


def test_dashboards_show_lob_metrics_only(gov: Governance) -> None:
    dashboards = gov.resources("AWS::CloudWatch::Dashboard", OVERSIGHT_STACK)
    assert len(dashboards) == len(LOB_ACCOUNTS)
    for lob, environments in LOB_ACCOUNTS.items():
        [dashboard] = [
            d["Properties"]
            for d in dashboards.values()
            if d["Properties"]["DashboardName"] == f"example-corp-{lob}-genai"
        ]
        body = "".join(
            part if isinstance(part, str) else "eu-west-1"  # the dashboard's own region
            for part in dashboard["DashboardBody"]["Fn::Join"][1]
        )
        widgets = json.loads(body)["widgets"]
        assert {widget["type"] for widget in widgets} == {"metric"}  # no log widgets
        metrics = [metric for widget in widgets for metric in widget["properties"]["metrics"]]
        by_name = {(namespace, name) for namespace, name, _ in metrics}
        expected = {
            ("AWS/Bedrock", name)
            for name in (
                "Invocations",
                "InvocationLatency",
                "InputTokenCount",
                "OutputTokenCount",
                "InvocationClientErrors",
            )
        } | {(f"GenAIPlatform/{lob}-{env}-genai", "GuardrailInterventions") for env in environments}
        assert by_name == expected
        assert {options["accountId"] for *_, options in metrics} == set(environments.values())
        assert {options["region"] for *_, options in metrics} == {LOB_REGIONS.get(lob, "eu-west-1")}


def test_observability_sink_accepts_metrics_from_the_organization_only(gov: Governance) -> None:
    _, sink = gov.one("AWS::Oam::Sink")
    [statement] = sink["Properties"]["Policy"]["Statement"]
    assert statement["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": ORGANIZATION_ID},
        "ForAllValues:StringEquals": {"oam:ResourceTypes": ["AWS::CloudWatch::Metric"]},
    }


def test_nag_acknowledgments_are_the_expected_ones(gov: Governance) -> None:
    packs = ("NIST.800.53.R5", "HIPAA.Security", "PCI.DSS.321")
    acknowledged = {
        (logical_id, rule["id"])
        for logical_id, resource in gov.templates[GOVERNANCE_STACK]["Resources"].items()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
        if rule["id"].startswith(("AwsSolutions", *packs))  # not the CDK's own annotations
    }
    archive, _ = gov.log_archive()
    [reports] = [b for b in gov.resources("AWS::S3::Bucket") if b.startswith("ChargebackReports")]
    audit, _ = gov.one("AWS::IAM::ManagedPolicy")
    assert acknowledged == (
        {("OrganizationTrail", f"{pack}-CloudTrailCloudWatchLogsEnabled") for pack in packs}
        | {
            (bucket, f"{pack}-S3BucketReplicationEnabled")
            for pack in packs
            for bucket in (archive, reports)
        }
        | {
            (audit, f"AwsSolutions-IAM5[{finding}]")
            for finding in (
                "Action::config:Describe*",
                "Action::config:Get*",
                "Action::config:List*",
                "Action::organizations:Describe*",
                "Action::organizations:List*",
                "Resource::*",
                "Resource::arn:aws:iam::*:role/example-corp-auditor",
                f"Resource::<{archive}.Arn>/*",
            )
        }
    )


def test_cfn_lint_reports_nothing(gov: Governance) -> None:
    templates = sorted(gov.outdir.glob("*.template.json"))
    assert len(templates) == 3
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), *map(str, templates)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_oversight_is_sharded_so_no_stack_grows_with_the_org(example: Synthesized) -> None:
    """The example's three LOBs fit one oversight stack (a dashboard and a monthly chargeback
    rule each, one chargeback function); the audit stack holds no LOB part."""
    assert LOBS_PER_OVERSIGHT_STACK >= 3
    oversight = example.template_json("platform-governance-oversight-1")["Resources"]
    kinds = [r["Type"] for r in oversight.values()]
    assert kinds.count("AWS::CloudWatch::Dashboard") == 3
    assert kinds.count("AWS::Events::Rule") == 3
    assert kinds.count("AWS::Lambda::Function") == 1
    audit = example.template_json("platform-governance-audit")["Resources"]
    assert not {"AWS::Budgets::Budget", "AWS::CloudWatch::Dashboard"} & {
        r["Type"] for r in audit.values()
    }


def test_dashboards_read_the_namespaces_the_genai_stacks_publish(example: Synthesized) -> None:
    """One name, defined once, on both sides: not two strings that happen to agree."""
    published = set()
    for placement in example.plan.lob_environments():
        template = example.template_json(f"{placement.key}-genai")
        published |= {
            transformation["MetricNamespace"]
            for resource in template["Resources"].values()
            if resource["Type"] == "AWS::Logs::MetricFilter"
            for transformation in resource["Properties"]["MetricTransformations"]
            # the use cases' token counts, which the chargeback reads (the next test)
            if transformation["MetricName"] not in ("InputTokens", "OutputTokens")
        }
    oversight = example.template_json("platform-governance-oversight-1")["Resources"]
    read = set()
    for resource in oversight.values():
        if resource["Type"] != "AWS::CloudWatch::Dashboard":
            continue
        parts = resource["Properties"]["DashboardBody"]["Fn::Join"][1]
        body = json.loads("".join(p if isinstance(p, str) else "eu-west-1" for p in parts))
        read |= {
            metric[0]
            for widget in body["widgets"]
            for metric in widget["properties"]["metrics"]
            if metric[0].startswith("GenAIPlatform/")
        }
    assert read == published
    assert len(published) == len(example.plan.lob_environments())


def test_the_chargeback_reads_the_token_namespaces_the_genai_stacks_publish(
    example: Synthesized,
) -> None:
    """Each LOB's monthly rule names the namespaces its use cases' token counts are published
    under, in the accounts that publish them, with the snapshot's prices of their models."""
    published = set()
    for placement in example.plan.lob_environments():
        template = example.template_json(f"{placement.key}-genai")
        published |= {
            (placement.account, transformation["MetricNamespace"])
            for resource in template["Resources"].values()
            if resource["Type"] == "AWS::Logs::MetricFilter"
            for transformation in resource["Properties"]["MetricTransformations"]
            if transformation["MetricName"] == "InputTokens"
        }
    oversight = example.template_json("platform-governance-oversight-1")["Resources"]
    plans = [
        json.loads(target["Input"])
        for rule in oversight.values()
        if rule["Type"] == "AWS::Events::Rule"
        for target in rule["Properties"]["Targets"]
    ]
    read = {
        (env["account"], use["namespace"])
        for plan in plans
        for env in plan["environments"]
        for use in env["use_cases"]
    }
    assert read == published
    # Each is shared with the sink by its account's link (else every report reads zero).
    for account, namespace in read:
        assert shared_by_link(example, account, namespace), (account, namespace)
    claims = next(plan for plan in plans if plan["lob"] == "claims")
    assert claims["prices"]["amazon.nova-pro-v1:0"]["output_per_million"] > 0
    assert claims["price_source"].startswith("genai-prices 0.2.5")
    [function] = [r for r in oversight.values() if r["Type"] == "AWS::Lambda::Function"]
    assert "VpcConfig" not in function["Properties"]
    # Its event says what a report holds: no role under the boundary may invoke it.
    assert {"Key": "genai-platform:workload", "Value": "governance-configurator"} in function[
        "Properties"
    ]["Tags"]


def shared_by_link(example: Synthesized, account: str, namespace: str) -> bool:
    """Whether the metrics link of ``account`` shares ``namespace``: its filter read here as
    OAM reads it (``IN`` lists, ``LIKE`` prefixes, joined by ``OR``)."""
    filters = [
        resource["Properties"]["LinkConfiguration"]["MetricConfiguration"]["Filter"]
        for stack in example.assembly.stacks
        if stack.environment.account == account
        for resource in example.template_json(stack.stack_name)["Resources"].values()
        if resource["Type"] == "AWS::Oam::Link"
    ]
    assert filters, f"{account} has no metrics link"
    for condition in (part.strip() for f in filters for part in f.split(" OR ")):
        listed = re.fullmatch(r"Namespace IN \((.*)\)", condition)
        if listed and namespace in re.findall(r"'([^']*)'", listed[1]):
            return True
        prefix = re.fullmatch(r"Namespace LIKE '(.*)%'", condition)
        if prefix and namespace.startswith(prefix[1]):
            return True
    return False
