"""The review desk of a use case: where its reviewers decide on the answers waiting for review
and export the reviewed ones as evaluation questions (``handlers/review_desk``)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from genai_constructs.compliance import acknowledge, nag_reference
from genai_constructs.function import PlatformFunction, url_invoke_statements
from genai_constructs.grants import grant_statements, grants_policy
from genai_constructs.rag.answer_api import Feedback, check_prefix


class ReviewDesk(Construct):
    """A function URL with IAM auth, in the VPC, that keeps each reviewer's decision on a
    rating or an answer waiting for review (under ``feedback``'s prefixes) under
    ``decisions_prefix`` (naming the signed caller) and exports the approved and corrected
    answers, in the RAG evaluation's question-set format, under ``candidates_prefix`` of the
    same bucket. It reads the ratings and review items, reads and writes the decisions, writes
    the candidates, and nothing else; ``grant_invoke`` lets a reviewer call it and
    ``grant_read_candidates`` read what it exported.

    :param feedback: the answer API's feedback (its ratings and, with ``review_prefix``, the
        answers waiting for review).
    :param decisions_prefix: where the decisions are kept (ends with '/').
    :param candidates_prefix: where the exports go (ends with '/').
    :param role: default a new role; the role the function runs as.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        feedback: Feedback,
        decisions_prefix: str,
        candidates_prefix: str,
        encryption_key: kms.IKey,
        vpc: ec2.IVpc,
        log_retention: logs.RetentionDays,
        role: iam.IRole | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        check_prefix("ReviewDesk", "decisions_prefix", decisions_prefix)
        check_prefix("ReviewDesk", "candidates_prefix", candidates_prefix)
        self.feedback = feedback
        self.candidates_prefix = candidates_prefix
        bucket = feedback.bucket
        self.function = PlatformFunction(
            self,
            "Function",
            description="Review desk: decisions on answers waiting for review, and their export",
            handler="review_desk.index.handler",
            encryption_key=encryption_key,
            vpc=vpc,
            log_retention=log_retention,
            timeout=Duration.seconds(60),
            environment={
                "FEEDBACK_BUCKET": bucket.bucket_name,
                "FEEDBACK_PREFIX": feedback.prefix,
                **({"REVIEW_PREFIX": feedback.review_prefix} if feedback.review_prefix else {}),
                "DECISIONS_PREFIX": decisions_prefix,
                "CANDIDATES_PREFIX": candidates_prefix,
            },
            reserved_concurrency=2,
            role=role,
        )
        reads = [*feedback.prefixes, decisions_prefix]
        writes = [decisions_prefix, candidates_prefix]
        statements = [
            iam.PolicyStatement(
                sid="ReadTheRatingsItemsAndDecisions",
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{p}*") for p in reads],
            ),
            iam.PolicyStatement(
                sid="ListTheDecisions",
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{decisions_prefix}*"]}},
            ),
            iam.PolicyStatement(
                sid="KeepTheDecisionsAndExports",
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(f"{p}*") for p in writes],
            ),
            feedback.key_through_s3(
                self, "UseTheDataKeyThroughS3", ["kms:Decrypt", "kms:GenerateDataKey"]
            ),
        ]
        for statement in statements:
            self.function.add_to_role_policy(statement)
        self.url = self.function.function.add_function_url(
            auth_type=lambda_.FunctionUrlAuthType.AWS_IAM
        )
        self.url_text: str = self.url.url
        self.function.acknowledge_policy(
            "reading this use case's ratings and review items, keeping its decisions and exports",
            [
                f"Resource::{nag_reference(self, bucket.arn_for_objects(f'{p}*'))}"
                for p in dict.fromkeys([*reads, *writes])
            ],
        )

    @property
    def role(self) -> iam.IRole:
        return self.function.role

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` (the use case's reviewer role) call the desk."""
        return grant_statements(
            grantee,
            url_invoke_statements(
                self.function.function_arn,
                call_sid="CallTheReviewDesk",
                invoke_sid="InvokeTheReviewDesk",
                # The desk records the signed caller from the request context: only the URL
                # sets it.
                url_only=True,
            ),
        )

    def grant_read_candidates(self, grantee: iam.IGrantable) -> iam.Grant:
        """Let ``grantee`` read the exported candidates (to adopt them into a question set)."""
        candidates = self.feedback.bucket.arn_for_objects(f"{self.candidates_prefix}*")
        granted = grant_statements(
            grantee,
            [
                iam.PolicyStatement(actions=["s3:GetObject"], resources=[candidates]),
                self.feedback.key_through_s3(self, None, ["kms:Decrypt"]),
            ],
        )
        principal = grantee.grant_principal
        if isinstance(principal, iam.Role):
            acknowledge(
                grants_policy(principal),
                f"AwsSolutions-IAM5[Resource::{nag_reference(self, candidates)}]",
                "Scoped to the exports of this use case's review desk: their keys are its "
                "export times.",
            )
        return granted
