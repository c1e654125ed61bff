"""Knowledge bases (RAG) on vector stores the LOB owns: how documents are chunked
(``chunking``), the vector stores (``vector_stores``), and the knowledge base with the
interface the other constructs take and its importer (``governed``)."""

from genai_constructs.knowledge_base.chunking import Chunking
from genai_constructs.knowledge_base.governed import GovernedKnowledgeBase, IKnowledgeBase
from genai_constructs.knowledge_base.vector_stores import (
    OpenSearchVectorStore,
    S3VectorStore,
    VectorStore,
)

__all__ = [
    "Chunking",
    "GovernedKnowledgeBase",
    "IKnowledgeBase",
    "OpenSearchVectorStore",
    "S3VectorStore",
    "VectorStore",
]
