"""The Files, Vector stores and Containers APIs' URLs, on one surface."""

from functools import partial

from django.urls import path

from localai.files_api.views import containers, files, vector_stores
from localai.http.endpoint import endpoint
from localai.http.surfaces import Surface

VECTOR_STORE = "vector_stores/<str:vector_store_id>"
FILE_BATCH = f"{VECTOR_STORE}/file_batches/<str:batch_id>"


def patterns(surface: Surface) -> list:
    return [*_file_patterns(surface), *_container_patterns(surface)]


def _file_patterns(surface: Surface) -> list:
    """The Files API and vector stores: shared by both protocols, so neither the Assistants
    API's beta header nor its retirement applies to them."""
    api = partial(endpoint, surface=surface, protocol="responses")
    return [
        path("files", api(GET=files.file_list, POST=files.file_create), name="files"),
        path(
            "files/<str:file_id>",
            api(GET=files.file_retrieve, DELETE=files.file_delete),
            name="file",
        ),
        path("files/<str:file_id>/content", api(GET=files.file_content), name="file-content"),
        path(
            "vector_stores",
            api(GET=vector_stores.vector_store_list, POST=vector_stores.vector_store_create),
            name="vector-stores",
        ),
        path(
            VECTOR_STORE,
            api(
                GET=vector_stores.vector_store_retrieve,
                POST=vector_stores.vector_store_update,
                DELETE=vector_stores.vector_store_delete,
            ),
            name="vector-store",
        ),
        path(
            f"{VECTOR_STORE}/search",
            api(POST=vector_stores.vector_store_search),
            name="vector-store-search",
        ),
        path(
            f"{VECTOR_STORE}/files",
            api(
                GET=vector_stores.vector_store_file_list,
                POST=vector_stores.vector_store_file_create,
            ),
            name="vector-store-files",
        ),
        path(
            f"{VECTOR_STORE}/files/<str:file_id>",
            api(
                GET=vector_stores.vector_store_file_retrieve,
                POST=vector_stores.vector_store_file_update,
                DELETE=vector_stores.vector_store_file_delete,
            ),
            name="vector-store-file",
        ),
        path(
            f"{VECTOR_STORE}/files/<str:file_id>/content",
            api(GET=vector_stores.vector_store_file_content),
            name="vector-store-file-content",
        ),
        path(
            f"{VECTOR_STORE}/file_batches",
            api(POST=vector_stores.file_batch_create),
            name="vector-store-file-batches",
        ),
        path(
            FILE_BATCH,
            api(GET=vector_stores.file_batch_retrieve),
            name="vector-store-file-batch",
        ),
        path(
            f"{FILE_BATCH}/cancel",
            api(POST=vector_stores.file_batch_cancel),
            name="vector-store-file-batch-cancel",
        ),
        path(
            f"{FILE_BATCH}/files",
            api(GET=vector_stores.file_batch_file_list),
            name="vector-store-file-batch-files",
        ),
    ]


CONTAINER = "containers/<str:container_id>"
CONTAINER_FILE = f"{CONTAINER}/files/<str:file_id>"


def _container_patterns(surface: Surface) -> list:
    """The Containers API, where the Responses API's code interpreter keeps its files."""
    api = partial(endpoint, surface=surface, protocol="responses")
    return [
        path(
            "containers",
            api(GET=containers.container_list, POST=containers.container_create),
            name="containers",
        ),
        path(
            CONTAINER,
            api(GET=containers.container_retrieve, DELETE=containers.container_delete),
            name="container",
        ),
        path(
            f"{CONTAINER}/files",
            api(GET=containers.container_file_list, POST=containers.container_file_create),
            name="container-files",
        ),
        path(
            CONTAINER_FILE,
            api(GET=containers.container_file_retrieve, DELETE=containers.container_file_delete),
            name="container-file",
        ),
        path(
            f"{CONTAINER_FILE}/content",
            api(GET=containers.container_file_content),
            name="container-file-content",
        ),
    ]
