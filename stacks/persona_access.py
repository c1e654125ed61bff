"""What each persona may do beyond its AWS managed job-function policies, and what no persona
may do: customer managed policies of the foundation stack, one per concern.

The AWS managed policies (PowerUserAccess, ViewOnlyAccess, SecurityAudit) are broad and
change with AWS; the boundary caps every role of the account. These policies add the work a
persona exists for (open Studio, run a training job, start a pipeline, approve a model, read
the guardrail) and explicitly deny what none may do by hand (change the guardrail, the
invocation logging), and the platform team's and auditors' reads of LOB data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from blueprint.model.inputs.foundation import FoundationInputs, PersonaInputs
from blueprint.model.names import (
    AGENT_REPOSITORY_SUFFIX,
    RECIPE_REPOSITORY_SUFFIX,
    agent_repository_name,
    agent_tool_key_name,
)
from blueprint.model.personas import Job
from blueprint.model.placing import HUB_LOB
from genai_constructs import acknowledge
from genai_constructs.compliance import acknowledge_wildcards, nag_reference
from genai_constructs.fine_tuning.jobs import preparation_image_uri, training_image_uri
from genai_constructs.naming import (
    GOVERNANCE_CHANGES,
    PARAMETER_ROOT,
    USER_TAG,
    etl_name,
    quality_ruleset_name,
)
from genai_constructs.sagemaker_access import runtime_statements

# The instance an experiment's image is looked up for (GPU and CPU builds share a repository).
EXPERIMENT_INSTANCE = "ml.g5.2xlarge"

# Reading LOB data or asking models about it: what the platform team and auditors never do in
# an LOB account (the invocation logs are denied where they are stored).
LOB_DATA_READS = (
    "s3:GetObject",
    "s3:GetObjectVersion",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "bedrock:InvokeModel",
    "bedrock:InvokeModelWithResponseStream",
    "bedrock:Retrieve",
    "bedrock:RetrieveAndGenerate",
    "sagemaker:InvokeEndpoint",
    "sagemaker:InvokeEndpointWithResponseStream",
    # Functions that answer from LOB data or act on it: the answer APIs, the RAG evaluations,
    # the review desks (InvokeAsync too: it hands a function an event its caller writes).
    "lambda:InvokeFunction",
    "lambda:InvokeAsync",
    "lambda:InvokeFunctionUrl",
    "sagemaker:CreatePresignedDomainUrl",
    # A Studio space's apps run as the data scientist's role, and remote access opens a
    # shell in them.
    "sagemaker:CreateApp",
    "sagemaker:CreateSpace",
    "sagemaker:StartSession",
    "sagemaker:UpdateSpace",
    # The MLflow server reads and writes the artifacts zone for whoever opens it.
    "sagemaker:CreatePresignedMlflowTrackingServerUrl",
    "sagemaker-mlflow:*",
    "sagemaker:CreatePresignedMlflowAppUrl",
    "sagemaker:CallMlflowAppApi",
    "s3vectors:GetVectors",
    "s3vectors:QueryVectors",
    "aoss:APIAccessAll",
    # An agent answers from LOB data and acts with its tools; its memory holds conversations;
    # its tools' gateway calls them; an API tool's key is the LOB's credential.
    "bedrock-agentcore:InvokeAgentRuntime*",
    "bedrock-agentcore:InvokeGateway",
    "bedrock-agentcore:GetEvent",
    "bedrock-agentcore:ListEvents",
    "bedrock-agentcore:ListSessions",
    "bedrock-agentcore:ListActors",
    "bedrock-agentcore:GetMemoryRecord",
    "bedrock-agentcore:ListMemoryRecords",
    "bedrock-agentcore:RetrieveMemoryRecords",
    "bedrock-agentcore:GetResourceApiKey",
    "bedrock-agentcore:GetResourceOauth2Token",
    "bedrock-agentcore:GetWorkloadAccessToken*",
    "secretsmanager:GetSecretValue",
)
# What an agent is and reaches: its runtime (image, role, network), its tools' gateway, targets,
# rate limits and web ACL, the policy engine that allows each agent its tools, its memory,
# the credentials and token vault the gateway holds, a sandbox that would run as a passed role;
# and an API tool's secret but its value (set with PutSecretValue, by the LOB's ML engineers).
# CloudFormation, with its own role, alone changes them.
AGENT_CHANGES = (
    "bedrock-agentcore:CreateAgentRuntime*",
    "bedrock-agentcore:UpdateAgentRuntime*",
    "bedrock-agentcore:DeleteAgentRuntime*",
    "bedrock-agentcore:StopRuntimeSession",
    "bedrock-agentcore:CreateGateway*",
    "bedrock-agentcore:UpdateGateway*",
    "bedrock-agentcore:DeleteGateway*",
    "bedrock-agentcore:BatchPutGatewayRateLimits",
    "bedrock-agentcore:GatewayAssociateWebACL",
    "bedrock-agentcore:GatewayDisassociateWebACL",
    "bedrock-agentcore:SynchronizeGatewayTargets",
    "bedrock-agentcore:CreatePolicy*",
    "bedrock-agentcore:UpdatePolicy*",
    "bedrock-agentcore:DeletePolicy*",
    "bedrock-agentcore:Manage*Policy",
    "bedrock-agentcore:PutResourcePolicy",
    "bedrock-agentcore:DeleteResourcePolicy",
    "bedrock-agentcore:CreateMemory",
    "bedrock-agentcore:UpdateMemory",
    "bedrock-agentcore:DeleteMemory",
    "bedrock-agentcore:*ApiKeyCredentialProvider",
    "bedrock-agentcore:*Oauth2CredentialProvider",
    "bedrock-agentcore:SetTokenVaultCMK",
    "bedrock-agentcore:*WorkloadIdentity",
    "bedrock-agentcore:CreateCodeInterpreter",
    "bedrock-agentcore:CreateBrowser*",
    "secretsmanager:UpdateSecret",
    "secretsmanager:UpdateSecretVersionStage",
    "secretsmanager:RotateSecret",
    "secretsmanager:CancelRotateSecret",
    "secretsmanager:DeleteSecret",
    "secretsmanager:RestoreSecret",
    "secretsmanager:ReplicateSecretToRegions",
    "secretsmanager:RemoveRegionsFromReplication",
    "secretsmanager:PutResourcePolicy",
    "secretsmanager:DeleteResourcePolicy",
)
# Changing what runs as a platform role: a function's code, configuration or permissions, a
# pipeline's, state machine's or pipe's definition (or versions and aliases of one), an event
# rule's schedule or targets, a Studio domain's, profile's or space's settings and lifecycle
# scripts (which run as the data scientist's role), the ETL's tables and quality rules (where
# it reads and what it lets through), an endpoint monitor (what raises its alarm).
# CloudFormation, with its own role, alone changes them.
WORKLOAD_CHANGES = (
    "bedrock:CreateDataSource",
    "bedrock:DeleteDataSource",
    "bedrock:DeleteKnowledgeBase",
    "bedrock:UpdateDataSource",
    "bedrock:UpdateKnowledgeBase",
    "events:DeleteRule",
    "events:DisableRule",
    "events:PutPermission",
    "events:PutRule",
    "events:PutTargets",
    "events:RemovePermission",
    "events:RemoveTargets",
    "glue:BatchDeleteTable",
    "glue:CreateDataQualityRuleset",
    "glue:CreateTable",
    "glue:DeleteDataQualityRuleset",
    "glue:DeleteTable",
    "glue:UpdateDataQualityRuleset",
    "glue:UpdateTable",
    "lambda:AddPermission",
    "lambda:Create*",
    "lambda:Delete*",
    "lambda:Publish*",
    "lambda:Put*",
    "lambda:RemovePermission",
    "lambda:Update*",
    "pipes:UpdatePipe",
    "sagemaker:CreateDomain",
    "sagemaker:CreateEndpoint",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:CreateStudioLifecycleConfig",
    "sagemaker:CreateUserProfile",
    "sagemaker:DeletePipeline",
    "sagemaker:DeleteStudioLifecycleConfig",
    "sagemaker:DeleteEndpoint",
    # MLflow's record of experiments and what it registers.
    "sagemaker:DeleteMlflowApp",
    "sagemaker:DeleteMlflowTrackingServer",
    "sagemaker:UpdateMlflowApp",
    "sagemaker:UpdateMlflowTrackingServer",
    # An alarm silenced, forged or removed by hand announces nothing true (and rolls a release
    # back); a served model or endpoint configuration deleted breaks the release's rollback.
    "cloudwatch:DeleteAlarms",
    "cloudwatch:DisableAlarmActions",
    "cloudwatch:PutCompositeAlarm",
    "cloudwatch:PutMetricAlarm",
    "cloudwatch:SetAlarmState",
    "sagemaker:DeleteEndpointConfig",
    "sagemaker:DeleteModel",
    # A stopped or changed monitor runs no job, so it raises no alarm; one added by hand runs
    # the endpoint monitor's jobs (as its role, announced on its topic) when its author wants.
    "sagemaker:CreateDataQualityJobDefinition",
    "sagemaker:CreateMonitoringSchedule",
    "sagemaker:DeleteDataQualityJobDefinition",
    "sagemaker:DeleteMonitoringSchedule",
    "sagemaker:StopMonitoringSchedule",
    "sagemaker:UpdateMonitoringSchedule",
    # The model an endpoint that scales to zero serves is its inference component.
    "sagemaker:CreateInferenceComponent",
    "sagemaker:DeleteInferenceComponent",
    "sagemaker:UpdateInferenceComponent",
    "sagemaker:UpdateInferenceComponentRuntimeConfig",
    "sagemaker:UpdateDomain",
    "sagemaker:UpdateEndpoint",
    "sagemaker:UpdateEndpointWeightsAndCapacities",
    "sagemaker:UpdatePipeline",
    "sagemaker:UpdateUserProfile",
    "states:CreateStateMachineAlias",
    "states:Delete*",
    "states:PublishStateMachineVersion",
    "states:UpdateStateMachine",
    "states:UpdateStateMachineAlias",
)
# Changing the delivery pipeline or running its builds (a buildspec override, a sandbox, a
# command) acts with its roles, which the accounts' deployment roles trust; rolling a stage
# back or retrying it redeploys what nobody approved now. (Approving stays: the boundary lets
# only the release approver.)
DELIVERY_CHANGES = (
    "codebuild:BatchDelete*",
    "codebuild:Create*",
    "codebuild:Delete*",
    "codebuild:Import*",
    "codebuild:Put*",
    "codebuild:Retry*",
    "codebuild:Start*",
    "codebuild:Update*",
    "codepipeline:Create*",
    "codepipeline:Delete*",
    "codepipeline:DisableStageTransition",
    "codepipeline:EnableStageTransition",
    "codepipeline:OverrideStageCondition",
    "codepipeline:PutActionRevision",
    "codepipeline:Retry*",
    "codepipeline:Rollback*",
    "codepipeline:StartPipelineExecution",
    "codepipeline:Update*",
)
# Copying a log group's events (prompts and answers among them) out, or reading them through
# another service: subscriptions, exports, metric filters and anomaly detectors over their
# fields, Contributor Insights rules (which read logs without a logs: permission), and
# changing their key, masking or transformation.
LOG_COPIES = (
    "cloudwatch:PutInsightRule",
    "logs:AssociateKmsKey",
    "logs:CreateExportTask",
    "logs:CreateLogAnomalyDetector",
    "logs:DeleteDataProtectionPolicy",
    # The token counts of use cases are metric filters: deleting one hides spend.
    "logs:DeleteMetricFilter",
    "logs:DisassociateKmsKey",
    "logs:PutAccountPolicy",
    "logs:PutDataProtectionPolicy",
    "logs:PutDestination*",
    "logs:PutMetricFilter",
    "logs:PutSubscriptionFilter",
    "logs:PutTransformer",
    "logs:UpdateLogAnomalyDetector",
)
# A zone's settings that copy its keys out, notify elsewhere, re-key it or open it through an
# access point, and the IDs applications look up: CloudFormation alone sets them.
SETTINGS_CHANGES = (
    "s3:CreateAccessPoint",
    "s3:PutAccessPointPolicy",
    "s3:PutBucketNotification",
    "s3:PutEncryptionConfiguration",
    "s3:PutInventoryConfiguration",
    "ssm:DeleteParameter*",
    "ssm:PutParameter",
)
# Who may read a vector collection is its data access policy: CloudFormation writes it (and
# the collections, their network and encryption policies).
VECTOR_POLICY_CHANGES = ("aoss:Create*", "aoss:Delete*", "aoss:Update*")
# Pushing an image (an agent's: the LOB's ML engineers' job).
AGENT_IMAGE_PUSHES = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:CompleteLayerUpload",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)
IMAGE_CHANGES = (
    "ecr:BatchDeleteImage",
    "ecr:BatchImportUpstreamImage",
    "ecr:CompleteLayerUpload",
    "ecr:DeleteRepository",
    "ecr:DeleteRepositoryPolicy",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:PutImageScanningConfiguration",
    "ecr:PutImageTagMutability",
    "ecr:PutLifecyclePolicy",
    "ecr:SetRepositoryPolicy",
    "ecr:UploadLayerPart",
)
# The account's ECR registry settings: a registry policy or replication rule lets another
# account replicate images into a repository, a pull-through cache or creation template makes
# repositories of its own. CloudFormation alone sets them.
REGISTRY_CHANGES = (
    "ecr:CreatePullThroughCacheRule",
    "ecr:CreateRepositoryCreationTemplate",
    "ecr:DeletePullThroughCacheRule",
    "ecr:DeleteRegistryPolicy",
    "ecr:DeleteRepositoryCreationTemplate",
    "ecr:PutRegistryPolicy",
    "ecr:PutRegistryScanningConfiguration",
    "ecr:PutReplicationConfiguration",
    "ecr:UpdatePullThroughCacheRule",
    "ecr:UpdateRepositoryCreationTemplate",
)
LOB_DATA_WRITES = (
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:RestoreObject",
    "s3vectors:PutVectors",
    "s3vectors:DeleteVectors",
    # An agent's memory: what it remembers of its conversations.
    "bedrock-agentcore:CreateEvent",
    "bedrock-agentcore:DeleteEvent",
    "bedrock-agentcore:BatchCreateMemoryRecords",
    "bedrock-agentcore:BatchUpdateMemoryRecords",
    "bedrock-agentcore:BatchDeleteMemoryRecords",
    "bedrock-agentcore:DeleteMemoryRecord",
    # An API tool's key (the LOB's credential with the API's owner).
    "secretsmanager:PutSecretValue",
)
# Registering (possibly as approved), approving, rejecting or removing a model, and running
# the LOB's pipelines (what its models are trained on, the base weights an import stages):
# the LOB's ML engineers' and pipelines' decision.
MODEL_APPROVALS = (
    "sagemaker:CreateModelPackage",
    "sagemaker:DeleteModelPackage",
    "sagemaker:UpdateModelPackage",
    "sagemaker:RetryPipelineExecution",
    "sagemaker:StartPipelineExecution",
)
LOG_READS = ("logs:GetLogEvents", "logs:FilterLogEvents", "logs:StartQuery", "logs:StartLiveTail")
CONFIGURATION_READS = (
    "bedrock:GetGuardrail",
    "bedrock:ListGuardrails",
    "bedrock:GetModelInvocationLoggingConfiguration",
    "bedrock:ListEnforcedGuardrailsConfiguration",
    "bedrock:GetKnowledgeBase",
    "bedrock:ListKnowledgeBases",
    "bedrock:GetDataSource",
    "bedrock:ListDataSources",
    "bedrock:GetInferenceProfile",
    "bedrock:ListInferenceProfiles",
    "bedrock:GetPrompt",
    "bedrock:ListPrompts",
    "bedrock:GetFoundationModel",
    "bedrock:ListFoundationModels",
)


def persona_guard(scope: Construct, roles: Sequence[iam.IRole]) -> iam.ManagedPolicy:
    """Denies every persona changing by hand the guardrail, the invocation logging, what runs
    as a platform role or the delivery pipeline, and copying logs out (the boundary already
    denies stack changes, bucket-policy changes, object-lock bypass and key grants to all
    roles; the invocation-logging function, under the same boundary, must configure logging).
    Workload roles are not denied these: their job policies grant none of them, which the
    access catalog's chains prove."""
    return _deny_only_policy(
        scope,
        "PersonaGuard",
        description="No persona changes the guardrail, the logging, or what the platform runs",
        roles=list(roles),
        statements=[
            iam.PolicyStatement(
                sid="DenyGovernanceChangesByHand",
                effect=iam.Effect.DENY,
                actions=list(GOVERNANCE_CHANGES),
                resources=["*"],
            ),
            *(
                iam.PolicyStatement(
                    sid=sid, effect=iam.Effect.DENY, actions=list(actions), resources=["*"]
                )
                for sid, actions in (
                    ("DenyWorkloadChangesByHand", WORKLOAD_CHANGES),
                    ("DenyDeliveryChangesByHand", DELIVERY_CHANGES),
                    ("DenyLogCopies", LOG_COPIES),
                    ("DenyVectorAccessPolicyChanges", VECTOR_POLICY_CHANGES),
                    ("DenySettingsChangesByHand", SETTINGS_CHANGES),
                    ("DenyRegistryChangesByHand", REGISTRY_CHANGES),
                )
            ),
            # Only the recipe build pushes the recipe image (pipelines pin it by digest; a
            # pushed image of one's own would still be one digest away from running).
            iam.PolicyStatement(
                sid="DenyRecipeImagePushes",
                effect=iam.Effect.DENY,
                actions=list(IMAGE_CHANGES),
                resources=[
                    f"arn:{Stack.of(scope).partition}:ecr:*:*:repository/"
                    f"*{RECIPE_REPOSITORY_SUFFIX}"
                ],
            ),
            # A Studio profile's owner tag decides who opens it: nobody retags one.
            iam.PolicyStatement(
                sid="DenyOwnerTagChanges",
                effect=iam.Effect.DENY,
                actions=[
                    "sagemaker:AddTags",
                    "sagemaker:DeleteTags",
                    "tag:TagResources",
                    "tag:UntagResources",
                ],
                resources=["*"],
                conditions={"ForAnyValue:StringEquals": {"aws:TagKeys": [USER_TAG]}},
            ),
        ],
    )


def agent_guard(scope: Construct, roles: Sequence[iam.IRole]) -> iam.ManagedPolicy:
    """Denies every persona changing an agent, its tools, their policy engine, its memory or
    the credentials its gateway holds by hand (a policy of its own: the persona guard is near
    IAM's size limit)."""
    return _deny_only_policy(
        scope,
        "AgentGuard",
        description="No persona changes an agent, its tools or their credentials by hand",
        roles=list(roles),
        statements=[
            iam.PolicyStatement(
                sid="DenyAgentChangesByHand",
                effect=iam.Effect.DENY,
                actions=list(AGENT_CHANGES),
                resources=["*"],
            ),
            # AWS's own code interpreter and browser run outside the VPC, on the internet.
            iam.PolicyStatement(
                sid="DenyPublicSandboxes",
                effect=iam.Effect.DENY,
                actions=[
                    "bedrock-agentcore:StartCodeInterpreterSession",
                    "bedrock-agentcore:InvokeCodeInterpreter",
                    "bedrock-agentcore:StartBrowserSession",
                ],
                resources=[
                    f"arn:{Stack.of(scope).partition}:bedrock-agentcore:*:aws:code-interpreter/*",
                    f"arn:{Stack.of(scope).partition}:bedrock-agentcore:*:aws:browser/*",
                ],
            ),
            # Who pulls an agent's image, that its tags never move and its layers expire, and
            # its tags, are CloudFormation's.
            iam.PolicyStatement(
                sid="DenyAgentRepositoryChangesByHand",
                effect=iam.Effect.DENY,
                actions=[
                    *(a for a in IMAGE_CHANGES if a not in AGENT_IMAGE_PUSHES),
                    "ecr:DeleteLifecyclePolicy",
                    "ecr:TagResource",
                    "ecr:UntagResource",
                ],
                resources=[
                    f"arn:{Stack.of(scope).partition}:ecr:*:*:repository/"
                    f"*{AGENT_REPOSITORY_SUFFIX}/*"
                ],
            ),
        ],
    )


def kept_from_lob_data(
    scope: Construct,
    roles: Sequence[iam.IRole],
    invocation_log_group_arns: Sequence[str],
    *,
    pushes_agent_images: bool = False,
) -> iam.ManagedPolicy:
    """Denies the platform team and auditors reading or changing LOB data, running its ETL,
    reading prompts or deciding on the LOB's models, in an LOB account."""
    states = f"arn:{Stack.of(scope).partition}:states:*:*"
    statements = [
        iam.PolicyStatement(
            sid="DenyLobDataReads",
            effect=iam.Effect.DENY,
            actions=list(LOB_DATA_READS),
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="DenyLobDataWrites",
            effect=iam.Effect.DENY,
            actions=list(LOB_DATA_WRITES),
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="DenyModelApprovals",
            effect=iam.Effect.DENY,
            actions=list(MODEL_APPROVALS),
            resources=["*"],
        ),
        # What the ETL moves into the curated zone is the LOB's data engineers' decision, and
        # its runs' history and quality results describe the LOB's data.
        iam.PolicyStatement(
            sid="DenyEtlRuns",
            effect=iam.Effect.DENY,
            actions=[
                "states:StartExecution",
                "states:StartSyncExecution",
                "states:RedriveExecution",
                "states:DescribeExecution",
                "states:GetExecutionHistory",
            ],
            resources=[
                f"{states}:stateMachine:{etl_name('*')}",
                f"{states}:stateMachine:{etl_name('*')}:*",
                f"{states}:execution:{etl_name('*')}:*",
            ],
        ),
        # Bedrock alone writes the invocation records, and the use cases' token counts come
        # from them: a record of one's own there, or an embedded-metric record in any log
        # group (CloudWatch extracts those without a PutMetricData check), would add to them.
        iam.PolicyStatement(
            sid="DenyLogWrites",
            effect=iam.Effect.DENY,
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=["*"],
        ),
        # An agent's image is the LOB's code, pushed by its ML engineers (in the hub, which has
        # none, the platform team pushes the hub's agents' and no other image).
        iam.PolicyStatement(
            sid="DenyAgentImagePushes",
            effect=iam.Effect.DENY,
            actions=list(AGENT_IMAGE_PUSHES),
            **(
                {"not_resources": [_repositories(scope, agent_repository_name(HUB_LOB, "*"))]}
                if pushes_agent_images
                else {"resources": [_repositories(scope, f"*{AGENT_REPOSITORY_SUFFIX}/*")]}
            ),
        ),
        iam.PolicyStatement(
            sid="DenyDataQualityResults",
            effect=iam.Effect.DENY,
            actions=["glue:GetDataQualityResult"],
            resources=["*"],
        ),
    ]
    if invocation_log_group_arns:
        invocation_logs = [
            arn for group in invocation_log_group_arns for arn in (group, f"{group}:*")
        ]
        statements += [
            iam.PolicyStatement(
                sid="DenyPromptAndCompletionReads",
                effect=iam.Effect.DENY,
                actions=list(LOG_READS),
                resources=invocation_logs,
            ),
        ]
    return _deny_only_policy(
        scope,
        "NoLobDataAccess",
        description="The platform team and auditors read configuration, never LOB data, and "
        "never change it",
        roles=list(roles),
        statements=statements,
    )


def studio_spaces(sagemaker: str) -> list[iam.PolicyStatement]:
    """What Studio does with the execution role for the person whose profile it serves
    (``${sagemaker:UserProfileName}``, set by Studio, not by the caller): create, change and
    delete their own private spaces, start apps in them and in the shared spaces the platform
    declares; tag what it creates."""
    owner = {
        "ArnLike": {
            "sagemaker:OwnerUserProfileArn": (
                f"{sagemaker}:user-profile/${{sagemaker:DomainId}}/${{sagemaker:UserProfileName}}"
            )
        }
    }
    return [
        iam.PolicyStatement(
            sid="OwnPrivateSpaces",
            actions=["sagemaker:CreateSpace", "sagemaker:UpdateSpace", "sagemaker:DeleteSpace"],
            resources=[f"{sagemaker}:space/*"],
            conditions={**owner, "StringEquals": {"sagemaker:SpaceSharingType": "Private"}},
        ),
        iam.PolicyStatement(
            sid="AppsOfOwnPrivateSpaces",
            actions=["sagemaker:CreateApp", "sagemaker:DeleteApp"],
            resources=[f"{sagemaker}:app/*"],
            conditions={**owner, "StringEquals": {"sagemaker:SpaceSharingType": "Private"}},
        ),
        iam.PolicyStatement(
            sid="AppsOfSharedSpaces",
            actions=["sagemaker:CreateApp", "sagemaker:DeleteApp"],
            resources=[f"{sagemaker}:app/*"],
            conditions={"StringEquals": {"sagemaker:SpaceSharingType": "Shared"}},
        ),
        iam.PolicyStatement(
            sid="TagWhatStudioCreates",
            actions=["sagemaker:AddTags"],
            resources=[f"{sagemaker}:space/*", f"{sagemaker}:app/*"],
            conditions={"Null": {"sagemaker:TaggingAction": "false"}},
        ),
    ]


def data_scientist_work(
    scope: Construct, role: iam.IRole, studio_users: Sequence[str] = ()
) -> iam.ManagedPolicy:
    """Studio (the user profiles the organization file lists, their own private spaces),
    experiment jobs in this account from the platform's images, which run as this role, their
    own role passed to SageMaker (the ML stack grants its MLflow, on its ARN)."""
    stack = Stack.of(scope)
    sagemaker = f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}"
    images = [
        training_image_uri(stack.region, EXPERIMENT_INSTANCE),
        preparation_image_uri(stack.region),
    ]
    open_studio = [
        iam.PolicyStatement(
            sid="OpenStudio",
            actions=["sagemaker:CreatePresignedDomainUrl"],
            resources=[f"{sagemaker}:user-profile/*/{user}" for user in studio_users],
            # Each person opens their own profile only: the profile's owner is who signed in.
            conditions={
                "StringEquals": {f"aws:ResourceTag/{USER_TAG}": f"${{aws:PrincipalTag/{USER_TAG}}}"}
            },
        )
    ]
    policy = iam.ManagedPolicy(
        scope,
        "DataScientistWork",
        description="Open Studio, run experiment jobs",
        roles=[role],
        statements=[
            *(open_studio if studio_users else []),
            *(studio_spaces(sagemaker) if studio_users else []),
            *runtime_statements(stack, images),
            iam.PolicyStatement(
                sid="RunExperimentJobs",
                actions=[
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:CreateProcessingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:StopProcessingJob",
                    "sagemaker:AddTags",
                ],
                resources=[f"{sagemaker}:training-job/*", f"{sagemaker}:processing-job/*"],
            ),
            iam.PolicyStatement(
                sid="PassOwnRoleToJobs",
                actions=["iam:PassRole"],
                resources=[role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
        ],
    )
    acknowledge_wildcards(
        policy,
        "Scoped to this account and region: user profiles of its Studio domain, the spaces and "
        "apps of the person's own profile (by condition), jobs the data scientist starts and "
        "what SageMaker needs to run them as this role (network interfaces, /aws/sagemaker/ "
        "logs and metrics, the platform's images); VPC descriptions, which have no "
        "resource-level permissions.",
    )
    return policy


def pipeline_operations(
    scope: Construct, role: iam.IRole, lob: str | None = None
) -> iam.ManagedPolicy:
    """Start, stop and retry the LOB's pipelines; build the recipe image (through the state
    machine whose definition fixes what the build runs) and read the image built. In an
    account other LOBs share, ``lob``'s own build and image only."""
    stack = Stack.of(scope)
    sagemaker = f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}"
    states = f"arn:{stack.partition}:states:{stack.region}:{stack.account}"
    policy = iam.ManagedPolicy(
        scope,
        "PipelineOperations",
        description="Run the LOB's SageMaker pipelines",
        roles=[role],
        statements=[
            iam.PolicyStatement(
                sid="RunPipelines",
                actions=[
                    "sagemaker:StartPipelineExecution",
                    "sagemaker:StopPipelineExecution",
                    "sagemaker:RetryPipelineExecution",
                ],
                resources=[f"{sagemaker}:pipeline/*"],
            ),
            iam.PolicyStatement(
                sid="BuildTheRecipeImage",
                actions=["states:StartExecution"],
                resources=[f"{states}:stateMachine:{lob or '*'}{RECIPE_REPOSITORY_SUFFIX}-build"],
            ),
            iam.PolicyStatement(
                sid="ReadTheBuiltRecipeImage",
                actions=["ssm:GetParameter"],
                resources=[
                    f"arn:{stack.partition}:ssm:{stack.region}:{stack.account}:parameter"
                    f"{PARAMETER_ROOT}/{lob or '*'}/*/recipe-image/uri"
                ],
            ),
        ],
    )
    acknowledge_wildcards(
        policy,
        "Scoped to this account and region: the LOB's pipelines and the state machine that "
        "builds its recipe image.",
    )
    return policy


def model_approvals(
    scope: Construct, role: iam.IRole, groups: Sequence[str] = ()
) -> iam.ManagedPolicy:
    """Approve or reject the model packages of the account: what a pipeline registered
    (nonprod) or a release staged (prod; rejecting the serving one rolls back); only those of
    ``groups`` when given (an account other LOBs share)."""
    stack = Stack.of(scope)
    sagemaker = f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}"
    packages = [f"{sagemaker}:model-package/{group}/*" for group in groups] or [
        f"{sagemaker}:model-package/*/*"
    ]
    policy = iam.ManagedPolicy(
        scope,
        "ModelApprovals",
        description="Approve or reject the model packages of this account",
        roles=[role],
        statements=[
            iam.PolicyStatement(
                sid="ApproveModelPackages",
                actions=["sagemaker:UpdateModelPackage"],
                resources=packages,
            )
        ],
    )
    acknowledge_wildcards(
        policy,
        "Scoped to this account and region: the packages of its model package groups; "
        "package versions are numbered when they are registered.",
    )
    return policy


def tenancy_fence(
    scope: Construct, roles: Sequence[iam.IRole], lob: str, model_groups: Sequence[str]
) -> iam.ManagedPolicy:
    """In an account several LOBs share (a central account's tenancies), the roles of one
    LOB's tenancy may not touch the SageMaker resources (Studio, MLflow, pipelines, jobs,
    registry, endpoints) of another LOB: their job policies name resource types, not owners.
    Resources are told apart by their ``lob`` tag, jobs a person starts must carry it, and the
    model packages (which SageMaker registers without tags) by their groups."""
    stack = Stack.of(scope)
    packages = f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:model-package"
    own_packages = [f"{packages}/{group}/*" for group in model_groups]
    return _deny_only_policy(
        scope,
        "TenancyFence",
        description=f"The {lob} tenancy's roles reach only the SageMaker resources of {lob}",
        roles=list(roles),
        statements=[
            iam.PolicyStatement(
                sid="DenyOtherTenantsSageMaker",
                effect=iam.Effect.DENY,
                actions=["sagemaker:*", "sagemaker-mlflow:*"],
                resources=["*"],
                # Only resources tagged with another LOB: new ones (a training job being
                # created) and untagged ones carry no tag to compare.
                conditions={
                    "StringNotEquals": {"aws:ResourceTag/lob": lob},
                    "Null": {"aws:ResourceTag/lob": "false"},
                },
            ),
            iam.PolicyStatement(
                sid="DenyUntaggedJobs",
                effect=iam.Effect.DENY,
                actions=["sagemaker:CreateTrainingJob", "sagemaker:CreateProcessingJob"],
                resources=["*"],
                conditions={"StringNotEquals": {"aws:RequestTag/lob": lob}},
            ),
            iam.PolicyStatement(
                sid="DenyOtherTenantsModelPackages",
                effect=iam.Effect.DENY,
                actions=[
                    "sagemaker:DescribeModelPackage",
                    "sagemaker:UpdateModelPackage",
                    "sagemaker:DeleteModelPackage",
                ],
                **(
                    {"not_resources": own_packages}
                    if own_packages
                    else {"resources": [f"{packages}/*"]}
                ),
            ),
        ],
    )


def tool_keys(scope: Construct, role: iam.IRole, prefix: str) -> iam.ManagedPolicy:
    """Push the images of the LOB's agents (to the repositories of its nonprod account) and
    put (never read) the keys of the environment's API tools."""
    stack = Stack.of(scope)
    repositories = stack.format_arn(
        service="ecr", resource="repository", resource_name=f"*{AGENT_REPOSITORY_SUFFIX}/*"
    )
    secrets = stack.format_arn(
        service="secretsmanager",
        resource="secret",
        resource_name=f"{agent_tool_key_name(prefix, '*')}-*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    keys = stack.format_arn(service="kms", resource="key", resource_name="*")
    policy = iam.ManagedPolicy(
        scope,
        "ToolKeys",
        description="Push the agents' images; put the keys of their API tools (the gateway "
        "alone reads them)",
        roles=[role],
        statements=[
            *_agent_image_pushes(repositories),
            iam.PolicyStatement(
                sid="PutApiToolKeys", actions=["secretsmanager:PutSecretValue"], resources=[secrets]
            ),
            iam.PolicyStatement(
                sid="EncryptApiToolKeys",
                actions=["kms:GenerateDataKey"],
                resources=[keys],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": f"secretsmanager.{stack.region}.amazonaws.com"
                    }
                },
            ),
        ],
    )
    acknowledge(
        policy,
        [
            f"AwsSolutions-IAM5[Resource::{nag_reference(scope, arn)}]"
            for arn in (secrets, keys, repositories, "*")
        ],
        "Each API tool's secret (Secrets Manager adds a random suffix to its fixed name) and "
        "the key Secrets Manager encrypts it with, through Secrets Manager only; the agents' "
        "image repositories of this account (one per agent) and ECR's sign-in, which takes no "
        "resource.",
    )
    return policy


def _agent_image_pushes(repositories: str) -> list[iam.PolicyStatement]:
    """Push to the agents' image ``repositories``, after signing in to ECR."""
    return [
        iam.PolicyStatement(
            sid="PushAgentImages", actions=list(AGENT_IMAGE_PUSHES), resources=[repositories]
        ),
        iam.PolicyStatement(
            sid="SignInToEcr", actions=["ecr:GetAuthorizationToken"], resources=["*"]
        ),
    ]


def hub_agent_images(scope: Construct, role: iam.IRole) -> iam.ManagedPolicy:
    """Push the images of the hub's agents (the hub is the platform team's account)."""
    repositories = _repositories(scope, agent_repository_name(HUB_LOB, "*"))
    policy = iam.ManagedPolicy(
        scope,
        "HubAgentImages",
        description="Push the images of the hub's agents",
        roles=[role],
        statements=[
            *_agent_image_pushes(repositories),
        ],
    )
    acknowledge(
        policy,
        [
            f"AwsSolutions-IAM5[Resource::{nag_reference(scope, arn)}]"
            for arn in (repositories, "*")
        ],
        "The hub's agents' image repositories (one per agent) and ECR's sign-in, which takes "
        "no resource.",
    )
    return policy


def configuration_reads(scope: Construct, role: iam.IRole) -> iam.ManagedPolicy:
    """The Bedrock configuration that SecurityAudit and ViewOnlyAccess do not cover."""
    policy = iam.ManagedPolicy(
        scope,
        "ConfigurationReads",
        description="Read guardrails, logging, knowledge bases, profiles and prompts",
        roles=[role],
        statements=[
            iam.PolicyStatement(
                sid="ReadGenAIConfiguration", actions=list(CONFIGURATION_READS), resources=["*"]
            )
        ],
    )
    acknowledge(
        policy,
        "AwsSolutions-IAM5[Resource::*]",
        "Read-only configuration actions (Get/List) of Bedrock; the auditor verifies every "
        "guardrail, knowledge base and profile of the account, and none returns LOB content.",
    )
    return policy


def _repositories(scope: Construct, name: str) -> str:
    """The ECR repositories named ``name`` (a pattern), in any account and region."""
    return f"arn:{Stack.of(scope).partition}:ecr:*:*:repository/{name}"


def _deny_only_policy(
    scope: Construct,
    construct_id: str,
    *,
    description: str,
    roles: list[iam.IRole],
    statements: list[iam.PolicyStatement],
) -> iam.ManagedPolicy:
    """A managed policy of deny statements only (its Resource "*" acknowledged)."""
    policy = iam.ManagedPolicy(
        scope, construct_id, description=description, roles=roles, statements=statements
    )
    acknowledge(
        policy,
        "AwsSolutions-IAM5[Resource::*]",
        "Deny-only policy: it grants nothing and must cover every resource of the account.",
    )
    return policy


def release_approvals(scope: Construct, role: iam.IRole) -> iam.ManagedPolicy:
    """Approve or reject the delivery pipelines' prod releases, after reading their diff."""
    stack = Stack.of(scope)
    policy = iam.ManagedPolicy(
        scope,
        "ReleaseApprovals",
        description="Approve prod releases of the delivery pipelines; read their diff",
        roles=[role],
        statements=[
            iam.PolicyStatement(
                sid="ApproveReleases",
                actions=["codepipeline:PutApprovalResult", "codepipeline:GetPipelineState"],
                resources=[f"arn:{stack.partition}:codepipeline:{stack.region}:{stack.account}:*"],
            ),
            iam.PolicyStatement(
                sid="ReadTheDiff",
                actions=["codebuild:BatchGetBuilds", "logs:GetLogEvents", "logs:FilterLogEvents"],
                resources=[
                    f"arn:{stack.partition}:codebuild:{stack.region}:{stack.account}:project/*",
                    f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*",
                ],
            ),
        ],
    )
    acknowledge_wildcards(
        policy,
        "The release approver approves any stage of the account's delivery pipelines (their "
        "names are generated) and reads their build logs; nothing else.",
    )
    return policy


def data_engineering(scope: Construct, role: iam.IRole, prefix: str) -> iam.ManagedPolicy:
    """Start the environment's ETL (whose definition fixes what it runs, as the ingestion
    role) and follow its runs; read the datasets' quality rules and results and the Glue
    catalog's tables. What the ETL reads and writes, the data stack grants (the zones)."""
    stack = Stack.of(scope)
    states = f"arn:{stack.partition}:states:{stack.region}:{stack.account}"
    glue = f"arn:{stack.partition}:glue:{stack.region}:{stack.account}"
    etl = etl_name(prefix)
    policy = iam.ManagedPolicy(
        scope,
        "DataEngineering",
        description="Run the environment's ETL and read its data-quality results",
        roles=[role],
        statements=[
            iam.PolicyStatement(
                sid="RunTheEtl",
                actions=["states:StartExecution"],
                resources=[f"{states}:stateMachine:{etl}"],
            ),
            iam.PolicyStatement(
                sid="FollowEtlRuns",
                actions=[
                    "states:DescribeExecution",
                    "states:GetExecutionHistory",
                    "states:StopExecution",
                ],
                resources=[f"{states}:execution:{etl}:*"],
            ),
            iam.PolicyStatement(
                sid="ReadDataQualityResults",
                actions=["glue:GetDataQualityRuleset", "glue:GetDataQualityResult"],
                resources=[f"{glue}:dataQualityRuleset/{quality_ruleset_name(prefix, '*')}"],
            ),
            # Glue authorizes listing and looking up runs and results by any ruleset.
            iam.PolicyStatement(
                sid="FindDataQualityRuns",
                actions=[
                    "glue:ListDataQualityResults",
                    "glue:GetDataQualityRulesetEvaluationRun",
                    "glue:ListDataQualityRulesetEvaluationRuns",
                ],
                resources=[f"{glue}:dataQualityRuleset/*"],
            ),
            iam.PolicyStatement(
                sid="ReadTheCatalog",
                actions=[
                    "glue:GetDatabase",
                    "glue:GetDatabases",
                    "glue:GetTable",
                    "glue:GetTables",
                ],
                resources=[f"{glue}:catalog", f"{glue}:database/*", f"{glue}:table/*/*"],
            ),
        ],
    )
    acknowledge_wildcards(
        policy,
        "Scoped to this account and region: the executions of its ETL (named when they "
        "start), its datasets' rulesets, and reads of its Glue catalog.",
    )
    return policy


@dataclass(frozen=True)
class JobContext:
    """What a job policy is written from: the account's foundation inputs and the persona's."""

    account: FoundationInputs
    persona: PersonaInputs


JobPolicy = Callable[[Construct, iam.IRole, JobContext], iam.ManagedPolicy]

# One customer managed policy per job of the persona records (blueprint/model/personas.py).
JOB_POLICIES: dict[Job, JobPolicy] = {
    Job.STUDIO: lambda scope, role, job: data_scientist_work(scope, role, job.persona.studio_users),
    Job.PIPELINES: lambda scope, role, job: pipeline_operations(scope, role, job.account.tenant),
    Job.MODEL_APPROVALS: lambda scope, role, job: model_approvals(
        scope, role, job.account.tenant_model_groups
    ),
    Job.CONFIGURATION_READS: lambda scope, role, _: configuration_reads(scope, role),
    Job.RELEASE_APPROVALS: lambda scope, role, _: release_approvals(scope, role),
    Job.ETL: lambda scope, role, job: data_engineering(scope, role, job.account.prefix),
    Job.TOOL_KEYS: lambda scope, role, job: tool_keys(scope, role, job.account.prefix),
}
