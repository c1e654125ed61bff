"""How a knowledge base's data source splits documents before embedding them."""

from __future__ import annotations

from aws_cdk import Token
from aws_cdk import aws_bedrock as bedrock

from genai_constructs.validation import check_range

# Bedrock's bound on the tokens of a chunk.
MAX_CHUNK_TOKENS = 8192


class Chunking:
    """How a data source splits documents before embedding them; build one with
    ``fixed_size``, ``hierarchical``, ``semantic`` or ``none`` (its CloudFormation form stays
    inside the package: ``chunking_configuration``)."""

    def __init__(self, configuration: bedrock.CfnDataSource.ChunkingConfigurationProperty) -> None:
        self._configuration = configuration

    @property
    def strategy(self) -> str:
        """Bedrock's name of the strategy: ``FIXED_SIZE``, ``HIERARCHICAL``, ``SEMANTIC``,
        ``NONE``."""
        return str(self._configuration.chunking_strategy)

    @staticmethod
    def fixed_size(*, max_tokens: int = 300, overlap_percent: int = 20) -> Chunking:
        """Chunks of at most ``max_tokens``, consecutive ones sharing ``overlap_percent``."""
        check_range("Chunking.fixed_size", "max_tokens", max_tokens, 1, MAX_CHUNK_TOKENS)
        check_range("Chunking.fixed_size", "overlap_percent", overlap_percent, 1, 99)
        return Chunking(
            bedrock.CfnDataSource.ChunkingConfigurationProperty(
                chunking_strategy="FIXED_SIZE",
                fixed_size_chunking_configuration=bedrock.CfnDataSource.FixedSizeChunkingConfigurationProperty(
                    max_tokens=max_tokens, overlap_percentage=overlap_percent
                ),
            )
        )

    @staticmethod
    def hierarchical(
        *, parent_max_tokens: int = 1500, child_max_tokens: int = 300, overlap_tokens: int = 60
    ) -> Chunking:
        """Parent chunks for context, child chunks for retrieval."""
        owner = "Chunking.hierarchical"
        check_range(owner, "parent_max_tokens", parent_max_tokens, 1, MAX_CHUNK_TOKENS)
        check_range(owner, "child_max_tokens", child_max_tokens, 1, MAX_CHUNK_TOKENS)
        check_range(owner, "overlap_tokens", overlap_tokens, 1, MAX_CHUNK_TOKENS)
        sizes = (parent_max_tokens, child_max_tokens, overlap_tokens)
        if not any(Token.is_unresolved(size) for size in sizes) and not (
            overlap_tokens < child_max_tokens < parent_max_tokens
        ):
            raise ValueError(
                f"{owner}: overlap_tokens < child_max_tokens < parent_max_tokens is required "
                f"(got {overlap_tokens}, {child_max_tokens}, {parent_max_tokens})"
            )
        levels = [
            bedrock.CfnDataSource.HierarchicalChunkingLevelConfigurationProperty(max_tokens=size)
            for size in (parent_max_tokens, child_max_tokens)
        ]
        return Chunking(
            bedrock.CfnDataSource.ChunkingConfigurationProperty(
                chunking_strategy="HIERARCHICAL",
                hierarchical_chunking_configuration=bedrock.CfnDataSource.HierarchicalChunkingConfigurationProperty(
                    level_configurations=levels, overlap_tokens=overlap_tokens
                ),
            )
        )

    @staticmethod
    def semantic(
        *, max_tokens: int = 300, buffer_size: int = 0, breakpoint_percentile: int = 95
    ) -> Chunking:
        """Chunks split where the meaning of consecutive sentences changes most."""
        owner = "Chunking.semantic"
        check_range(owner, "max_tokens", max_tokens, 1, MAX_CHUNK_TOKENS)
        check_range(owner, "buffer_size", buffer_size, 0, 1)
        check_range(owner, "breakpoint_percentile", breakpoint_percentile, 50, 99)
        return Chunking(
            bedrock.CfnDataSource.ChunkingConfigurationProperty(
                chunking_strategy="SEMANTIC",
                semantic_chunking_configuration=bedrock.CfnDataSource.SemanticChunkingConfigurationProperty(
                    max_tokens=max_tokens,
                    buffer_size=buffer_size,
                    breakpoint_percentile_threshold=breakpoint_percentile,
                ),
            )
        )

    @staticmethod
    def none() -> Chunking:
        """Each document is one chunk."""
        return Chunking(
            bedrock.CfnDataSource.ChunkingConfigurationProperty(chunking_strategy="NONE")
        )


def chunking_configuration(
    chunking: Chunking,
) -> bedrock.CfnDataSource.ChunkingConfigurationProperty:
    """The data source property ``chunking`` writes."""
    return chunking._configuration
