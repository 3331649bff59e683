"""The JSON objects of the Files API and of vector stores, as the real service returns them.

The openai SDK's models (openai.types.file_object, openai.types.vector_store*,
openai.types.vector_stores.*) are the reference; tests/localai/files_api/test_contract.py
validates these shapes against them.
"""

from localai.models import (
    CONTAINER_IDLE_MINUTES,
    Container,
    ContainerFile,
    File,
    VectorStore,
    VectorStoreFile,
    VectorStoreFileBatch,
)


def file_object(file: File) -> dict:
    return {
        "id": file.public_id,
        "object": "file",
        "bytes": file.size,
        "created_at": file.created_at,
        "filename": file.filename,
        "purpose": file.purpose,
        "status": "processed",
        "expires_at": None,
        "status_details": None,
    }


def file_deleted_object(file_id: str) -> dict:
    # The Files API names the object itself, not a `file.deleted` (http/objects.deleted_object).
    return {"id": file_id, "object": "file", "deleted": True}


def vector_store_object(vector_store: VectorStore, file_counts: dict, usage_bytes: int) -> dict:
    expires_after = vector_store.expires_after
    expires_at = None
    if expires_after:
        expires_at = vector_store.last_active_at + expires_after["days"] * 86400
    return {
        "id": vector_store.public_id,
        "object": "vector_store",
        "created_at": vector_store.created_at,
        "name": vector_store.name,
        "usage_bytes": usage_bytes,
        "file_counts": file_counts,
        # Indexing is synchronous: a store is never left processing.
        "status": "completed",
        "expires_after": expires_after,
        "expires_at": expires_at,
        "last_active_at": vector_store.last_active_at,
        "metadata": vector_store.metadata,
    }


def vector_store_file_object(entry: VectorStoreFile) -> dict:
    """`entry` with its `file` and `vector_store` loaded."""
    return {
        "id": entry.file.public_id,
        "object": "vector_store.file",
        "created_at": entry.created_at,
        "vector_store_id": entry.vector_store.public_id,
        "status": entry.status,
        "last_error": entry.last_error,
        "usage_bytes": entry.usage_bytes,
        "attributes": entry.attributes,
        "chunking_strategy": entry.chunking_strategy,
    }


def file_batch_object(batch: VectorStoreFileBatch, file_counts: dict) -> dict:
    return {
        "id": batch.public_id,
        "object": "vector_store.files_batch",
        "created_at": batch.created_at,
        "vector_store_id": batch.vector_store.public_id,
        # Indexing is synchronous: a batch is done when it is created.
        "status": "completed",
        "file_counts": file_counts,
    }


def search_results_page(query: str, results: list) -> dict:
    return {
        "object": "vector_store.search_results.page",
        "search_query": [query],
        "data": [
            {
                "file_id": result.file_id,
                "filename": result.filename,
                "score": result.score,
                "attributes": result.attributes,
                "content": [{"type": "text", "text": result.text}],
            }
            for result in results
        ],
        "has_more": False,
        "next_page": None,
    }


def container_object(container: Container) -> dict:
    return {
        "id": container.public_id,
        "object": "container",
        "created_at": container.created_at,
        "name": container.name,
        "status": container.status,
        "expires_after": {"anchor": "last_active_at", "minutes": CONTAINER_IDLE_MINUTES},
        "last_active_at": container.last_active_at,
        "memory_limit": container.memory_limit,
        "network_policy": {"type": "disabled"},
    }


def container_file_object(file: ContainerFile, container: Container) -> dict:
    return {
        "id": file.public_id,
        "object": "container.file",
        "bytes": file.size,
        "container_id": container.public_id,
        "created_at": file.created_at,
        "path": file.path,
        "source": file.source,
    }
