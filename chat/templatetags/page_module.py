"""{% page_module "chat/chat_page.js" %}: the script of a page's entry module, as its bundle or
as the module itself with a <link rel="modulepreload"> for every module it imports.

Served as they are, a browser finds the imports of a module only once it has that module:
the chat page's thirty-odd modules arrived as a waterfall four or five round trips deep.
Listed in the page's head they are all requested at once, yet still six at a time over
HTTP/1.1, in about seven rounds. So when CHAT_JS_BUNDLE is on (by default whenever DEBUG is
off) the page loads static/<folder>/dist/<name>, the entry and its imports in one file that
`make bundle` writes (committed; tests/chat/test_js_bundle.py keeps it current). The graph
is read from the static files themselves, so it cannot drift from the code; once per
process, and again on every page in DEBUG, where the files change.
"""

import posixpath
import re
from functools import lru_cache

from django import template
from django.conf import settings
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.utils.html import format_html, format_html_join

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


def bundle_path(entry: str) -> str:
    """Where `make bundle` writes the bundle of the entry module at static path `entry`."""
    folder, name = posixpath.split(entry)
    return posixpath.join(folder, "dist", name)


def bundle_on() -> bool:
    chosen = settings.CHAT_JS_BUNDLE
    return not settings.DEBUG if chosen is None else chosen


@register.simple_tag
def page_module(entry: str) -> str:
    if bundle_on():
        return format_html('<script type="module" src="{}"></script>', static(bundle_path(entry)))
    entries = (entry,)
    modules = module_graph(entries) if settings.DEBUG else _cached_graph(entries)
    return format_html(
        '{}\n<script type="module" src="{}"></script>',
        format_html_join(
            "\n", '<link rel="modulepreload" href="{}">', ((static(m),) for m in modules)
        ),
        static(entry),
    )
