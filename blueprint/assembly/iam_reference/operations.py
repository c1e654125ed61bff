"""Permissions a request is asked for that are no IAM action of their own, and the IAM action
AWS authorizes each as. The Service Authorization Reference does not record this; each entry
cites the page that does. Keep it to what a policy or the access catalog names.
"""

from __future__ import annotations

AUTHORIZED_AS = {
    # Amazon Bedrock API Reference, each operation's page ("requires permission for the
    # bedrock:InvokeModel action"): docs.aws.amazon.com/bedrock/latest/APIReference/
    # API_runtime_Converse.html, API_runtime_ConverseStream.html,
    # API_runtime_StartAsyncInvoke.html, API_runtime_InvokeModelWithBidirectionalStream.html
    "bedrock:converse": "bedrock:InvokeModel",
    "bedrock:conversestream": "bedrock:InvokeModelWithResponseStream",
    "bedrock:startasyncinvoke": "bedrock:InvokeModel",
    "bedrock:invokemodelwithbidirectionalstream": "bedrock:InvokeModel",
    # OpenSearch Serverless data-plane permissions, granted by a collection's data access
    # policy; IAM must allow aoss:APIAccessAll on the collection too (Amazon OpenSearch
    # Service Developer Guide, "Data access control for Amazon OpenSearch Serverless":
    # docs.aws.amazon.com/opensearch-service/latest/developerguide/serverless-data-access.html)
    "aoss:readdocument": "aoss:APIAccessAll",
    "aoss:writedocument": "aoss:APIAccessAll",
}


def authorized_as(action: str) -> str:
    """The IAM action a request for ``action`` is authorized as (itself for most)."""
    return AUTHORIZED_AS.get(action.lower(), action)
