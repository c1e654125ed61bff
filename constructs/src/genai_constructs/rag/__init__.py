"""Retrieval-augmented generation around knowledge bases: ingestion as documents land
(``ingestion``), an answer API per use case (``answer_api``) and the offline evaluation that
gates its release (``evaluation``)."""

from genai_constructs.rag.answer_api import AnswerApi
from genai_constructs.rag.evaluation import RagEvaluation
from genai_constructs.rag.ingestion import KnowledgeBaseIngestion

__all__ = ["AnswerApi", "KnowledgeBaseIngestion", "RagEvaluation"]
