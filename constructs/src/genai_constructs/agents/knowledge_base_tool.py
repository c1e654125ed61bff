"""A tool that searches one knowledge base (``handlers/agent_tools``): a function of the
platform, in the VPC, behind a tools gateway. The agent gets passages, never the knowledge
base itself: the function's role alone may retrieve."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from genai_constructs.agents.gateway import LambdaTool, ToolGateway
from genai_constructs.function import PlatformFunction
from genai_constructs.knowledge_base import IKnowledgeBase

SEARCH_TOOL = "search_knowledge_base"
MAX_RESULTS = 10


def search_tool(description: str) -> LambdaTool:
    """The function's one tool, as the gateway offers it."""
    return LambdaTool(
        name=SEARCH_TOOL,
        description=description,
        input_schema={
            "type": "object",
            "properties": {
                "query": {
                    "type": "string",
                    "description": "What to search for, in words (1 to 1000 characters)",
                },
                "results": {
                    "type": "integer",
                    "description": f"How many passages to return, 1 to {MAX_RESULTS}",
                },
            },
            "required": ["query"],
        },
    )


class KnowledgeBaseSearchTool(Construct):
    """``knowledge_base`` behind ``gateway`` as the target ``name``.

    :param results: default 5; passages returned when the agent asks for no number.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        description: str,
        knowledge_base: IKnowledgeBase,
        gateway: ToolGateway,
        vpc: ec2.IVpc,
        encryption_key: kms.IKey,
        log_retention: logs.RetentionDays,
        results: int = 5,
    ) -> None:
        super().__init__(scope, construct_id)
        if not 1 <= results <= MAX_RESULTS:
            raise ValueError(
                f"KnowledgeBaseSearchTool: results {results} is outside 1 to {MAX_RESULTS}"
            )
        self.function = PlatformFunction(
            self,
            "Function",
            description=f"Agent tool {name}: searches one knowledge base",
            handler="agent_tools.index.handler",
            encryption_key=encryption_key,
            vpc=vpc,
            log_retention=log_retention,
            timeout=Duration.seconds(30),
            environment={
                "KNOWLEDGE_BASE_ID": knowledge_base.knowledge_base_id,
                "NUMBER_OF_RESULTS": str(results),
            },
            reserved_concurrency=10,
        )
        knowledge_base.grant_retrieve(self.function.function)
        gateway.add_lambda_tool(name, self.function.function, [search_tool(description)])
        self.function.acknowledge_policy("its dead-letter queue and its key", [])
