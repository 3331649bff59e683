"""The provider's own tools (file_search, code_interpreter) in a reply, normalised.

Both protocols report them in their own shapes; this turns their run steps and output items
into ToolSteps, their citations into numbered Citations with `[n]` markers in the text, and
the files they produce into OutputFiles (each once per reply).
"""

import posixpath
import re

from .events import Citation, OutputFile, TextDelta, ToolStep

# The Assistants API's citation markers in the text, e.g. 【4:0†doc.md】: the annotation
# that explains one replaces it; one without an annotation would only confuse a reader.
MARKER = re.compile(r"【[^【】]*】")
WORD = re.compile(r"\w+")
# A search result is shown in the transcript; a whole chunk is plenty, a page is too much.
RESULT_TEXT_MAX = 2000


def search_result(*, file_id, filename, score, text) -> dict:
    return {
        "file_id": file_id or "",
        "filename": filename or "",
        "score": score if score is not None else 0.0,
        "text": (text or "")[:RESULT_TEXT_MAX],
    }


def _field(obj, name: str, default=None):
    """An attribute of an SDK object, or a key of the dict an SDK left unparsed."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _words(text: str) -> set[str]:
    return set(WORD.findall(text.lower()))


def search_summary(results: list[dict]) -> str:
    if not results:
        return "Nothing relevant was found in the files."
    names = list(dict.fromkeys(r["filename"] or r["file_id"] for r in results))
    count = len(results)
    return f"Found {count} passage{'s' if count != 1 else ''} in {', '.join(names)}."


class ReplySources:
    """One reply's sources and produced files: citation numbers, quotes, files announced.

    Numbers start at 1 per reply; a file cited again with the same quote keeps its number.
    The quote is the text of the search result from the cited file that shares the most
    words with the passage the citation ends (the reply text since the previous citation),
    ties going to the higher score: the APIs point at a file, not at a passage of it.
    """

    def __init__(self):
        self.text = ""  # the reply text so far, as normalised (markers replaced)
        self.cited_at = 0  # where the passage of the next citation starts in `text`
        self.results: list[dict] = []
        self.numbers: dict[tuple[str, str], int] = {}
        self.files: set[str] = set()

    def add_text(self, text: str) -> list[TextDelta]:
        if not text:
            return []
        self.text += text
        return [TextDelta(text)]

    def note_results(self, results: list[dict]) -> None:
        self.results.extend(results)

    def cite(self, *, file_id: str, filename: str = "", quote: str = "") -> list:
        """The Citation (the first time this source is cited) and the `[n]` marker text."""
        passage = self.text[self.cited_at :]
        from_file = [r for r in self.results if r["file_id"] == file_id]
        if not quote and from_file:
            words = _words(passage)
            best = max(from_file, key=lambda r: (len(words & _words(r["text"])), r["score"]))
            quote = best["text"]
        filename = filename or next((r["filename"] for r in from_file if r["filename"]), "")
        key = (file_id, quote)
        events = []
        if key not in self.numbers:
            self.numbers[key] = len(self.numbers) + 1
            events.append(Citation(self.numbers[key], file_id, filename or file_id, quote))
        events += self.add_text(f"[{self.numbers[key]}]")
        self.cited_at = len(self.text)
        return events

    def produced(self, *, file_id: str, filename: str = "", container_id: str = "") -> list:
        """An OutputFile for a file the tools made, unless this reply announced it already."""
        if not file_id or file_id in self.files:
            return []
        self.files.add(file_id)
        return [OutputFile(file_id, filename, container_id)]


# --- Assistants API -------------------------------------------------------------------------


def assistants_step(step, sources: ReplySources) -> list:
    """The provider tools of a run step (created, or ended) as ToolSteps, and the images
    the code interpreter made. Function calls are the agent's own business."""
    details = step.step_details
    if details.type != "tool_calls":
        return []
    ended = step.status != "in_progress"
    events = []
    for call in details.tool_calls or []:
        if call.type == "file_search":
            found = (call.file_search.results if call.file_search else None) or []
            results = [
                search_result(
                    file_id=r.file_id,
                    filename=r.file_name,
                    score=r.score,
                    text="".join(part.text or "" for part in r.content or []),
                )
                for r in found
            ]
            sources.note_results(results)
            events.append(
                ToolStep(
                    call.id,
                    "file_search",
                    "",
                    search_summary(results) if ended else None,
                    type="file_search",
                    # The Assistants API does not say what it searched for.
                    details={"queries": [], "results": results},
                )
            )
        elif call.type == "code_interpreter":
            code = call.code_interpreter
            outputs = code.outputs or []
            logs = "".join(o.logs for o in outputs if o.type == "logs")
            events.append(
                ToolStep(
                    call.id,
                    "code_interpreter",
                    "",
                    logs if ended else None,
                    type="code_interpreter",
                    details={"code": code.input or "", "logs": logs, "status": step.status},
                )
            )
            for output in outputs:
                if output.type == "image" and output.image:
                    events += sources.produced(file_id=output.image.file_id)
    return events


def _marker_filename(marker: str) -> str:
    # 【4:0†doc.md】: the source's name follows the dagger.
    return marker.strip("【】").partition("†")[2]


def assistants_message_delta(delta, sources: ReplySources) -> list:
    """Text with citation markers replaced by `[n]` (after their Citation), and the files
    the message shows (image_file blocks, file_path links; the link text stays as it is)."""
    events = []
    for part in delta.content or []:
        if part.type == "image_file" and part.image_file:
            events += sources.produced(file_id=part.image_file.file_id or "")
        elif part.type == "text" and part.text:
            events += _assistants_text(part.text, sources)
    return events


def _assistants_text(text, sources: ReplySources) -> list:
    value = text.value or ""
    events = []
    position = 0
    for annotation in sorted(text.annotations or [], key=lambda a: a.start_index or 0):
        marker = annotation.text or ""
        at = value.find(marker, position) if marker else -1
        if at < 0:
            continue  # its text came in another delta: nothing here to replace
        events += sources.add_text(MARKER.sub("", value[position:at]))
        position = at + len(marker)
        if annotation.type == "file_citation":
            cited = annotation.file_citation
            events += sources.cite(
                file_id=(cited.file_id if cited else "") or "",
                filename=_marker_filename(marker),
                quote=(cited.quote if cited else "") or "",
            )
        elif annotation.type == "file_path":
            file_id = annotation.file_path.file_id if annotation.file_path else ""
            events += sources.produced(file_id=file_id or "", filename=posixpath.basename(marker))
            events += sources.add_text(marker)
        else:
            events += sources.add_text(marker)
    events += sources.add_text(MARKER.sub("", value[position:]))
    return events


# --- Responses API --------------------------------------------------------------------------


def responses_item(item, sources: ReplySources) -> list:
    """A file_search_call or code_interpreter_call output item (added, or done) as a
    ToolStep; the code's container is kept in its details so the site can delete it."""
    ended = item.status not in ("in_progress", "searching", "interpreting")
    if item.type == "file_search_call":
        results = [
            search_result(file_id=r.file_id, filename=r.filename, score=r.score, text=r.text)
            for r in item.results or []
        ]
        sources.note_results(results)
        return [
            ToolStep(
                item.id,
                "file_search",
                "",
                search_summary(results) if ended else None,
                type="file_search",
                details={"queries": list(item.queries or []), "results": results},
            )
        ]
    if item.type == "code_interpreter_call":
        logs = "".join(o.logs for o in item.outputs or [] if o.type == "logs")
        return [
            ToolStep(
                item.id,
                "code_interpreter",
                "",
                logs if ended else None,
                type="code_interpreter",
                details={
                    "code": item.code or "",
                    "logs": logs,
                    "status": item.status,
                    "container_id": item.container_id or "",
                },
            )
        ]
    return []


def responses_annotation(annotation, sources: ReplySources) -> list:
    """A file citation as its Citation and `[n]` (the text has no marker of its own: the
    annotation comes right after the passage it cites), a container file as an OutputFile."""
    kind = _field(annotation, "type")
    if kind == "file_citation":
        return sources.cite(
            file_id=_field(annotation, "file_id", ""), filename=_field(annotation, "filename", "")
        )
    if kind == "container_file_citation":
        return sources.produced(
            file_id=_field(annotation, "file_id", ""),
            filename=_field(annotation, "filename", ""),
            container_id=_field(annotation, "container_id", ""),
        )
    return []
