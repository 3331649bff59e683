"""Text search without a server: the searchable text of a file, its overlapping chunks, BM25
ranking of chunks against a query, and the quote a reply shows from a chunk.

Pure and dependency-free (pypdf aside), so that both the local provider's vector stores
(`localai.files_api`) and the site's own file search (`chat.file_search`) rank the same way:
neither imports the other.
"""
