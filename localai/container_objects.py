"""The JSON objects of the Containers API, as the real service returns them (the openai
SDK's openai.types.container_* and openai.types.containers.* models are the reference)."""

from localai.models import CONTAINER_IDLE_MINUTES, Container, ContainerFile


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
