"""{% module_preload "chat/chat.js" ... %}: a <link rel="modulepreload"> for every ES module
that these entry modules import, directly or through others.

The site serves its modules as they are (no bundling step), so a browser finds the imports
of a module only once it has that module: the chat page's thirty-odd modules arrived as a
waterfall four or five round trips deep. Listed in the page's head they are all requested
at once. The graph is read from the static files themselves, so it cannot drift from the
code; once per process, and again on every page in DEBUG, where the files change.
"""

import posixpath
import re
from functools import lru_cache

from django import template
from django.conf import settings
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.utils.html import format_html_join

register = template.Library()

# Static imports and re-exports with a relative specifier: `import x from "./a.js"`,
# `import { a,\n b } from "../b.js"`, `import "./c.js"`, `export { d } from "./d.js"`.
# Dynamic import("...") is left out: what a module loads lazily stays lazy.
IMPORT = re.compile(
    r"""(?:^|[;\s])(?:import|export)\s*(?:[\w$*{}\s,]*?\s*from\s*)?["'](\.{1,2}/[^"'\s]+)["']"""
)


def imports_of(source: str, path: str) -> list[str]:
    """The static paths that the module at static path `path` imports."""
    folder = posixpath.dirname(path)
    return [posixpath.normpath(posixpath.join(folder, spec)) for spec in IMPORT.findall(source)]


def module_graph(entries: tuple[str, ...]) -> list[str]:
    """Every module reachable from `entries` (static paths), entries excluded, in the order
    they are first reached; a file that is not found ends that branch."""
    seen = set(entries)
    order: list[str] = []
    pending = list(entries)
    while pending:
        path = pending.pop(0)
        found = finders.find(path)
        if not found:
            continue
        with open(found, encoding="utf-8") as file:
            source = file.read()
        for imported in imports_of(source, path):
            if imported not in seen:
                seen.add(imported)
                order.append(imported)
                pending.append(imported)
    return order


_cached_graph = lru_cache(maxsize=32)(module_graph)


@register.simple_tag
def module_preload(*entries: str) -> str:
    modules = module_graph(entries) if settings.DEBUG else _cached_graph(entries)
    return format_html_join(
        "\n", '<link rel="modulepreload" href="{}">', ((static(m),) for m in modules)
    )
