"""Retrieval-augmented generation around knowledge bases: ingestion as documents land
(``ingestion``), an answer API per use case (``answer_api``), the review desk of its flagged
answers (``review_desk``) and the offline evaluation that gates its release (``evaluation``)."""

from genai_constructs.rag.answer_api import AnswerApi
from genai_constructs.rag.evaluation import RagEvaluation
from genai_constructs.rag.ingestion import KnowledgeBaseIngestion
from genai_constructs.rag.review_desk import ReviewDesk

__all__ = ["AnswerApi", "KnowledgeBaseIngestion", "RagEvaluation", "ReviewDesk"]
