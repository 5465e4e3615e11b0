"""Write docs/configuration.md from the config schema: every key, its type, default and
description, so the reference cannot drift from what tagbench validates.

    python scripts/config_reference.py           # rewrite docs/configuration.md
    python scripts/config_reference.py --check   # exit 1 if it is out of date (tests do this)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
OUT = ROOT / "docs" / "configuration.md"

HEADER = """# Configuration reference

Generated from `workflow/schemas/config.schema.yaml` by `python scripts/config_reference.py`
(a test fails when this page is out of date): do not edit it by hand. tagbench validates every
config against that schema before anything runs; a wrong key or type is one line naming it.

`config.yaml` holds the demo's settings; `configs/*.yaml` override them (`snakemake
--configfile configs/mtt.yaml`; nested keys merge). Every key of `train` is the default of each
variant, and any of them can be set per variant under `variants.<name>`.
"""


def _resolve(node: dict, schema: dict) -> dict:
    """A property with its `$ref` (into `$defs`) merged under its own keys."""
    if "$ref" not in node:
        return node
    target = schema
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    return {**target, **{k: v for k, v in node.items() if k != "$ref"}}


def _type(node: dict) -> str:
    if "enum" in node:
        return "one of " + ", ".join(f"`{v}`" for v in node["enum"])
    kinds = node.get("type", "any")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    text = " or ".join("null" if k == "null" else k for k in kinds)
    if node.get("type") == "array" or "array" in kinds:
        items = node.get("items", {})
        if "type" in items or "enum" in items:
            text += f" of {_type(items)}"
    bounds = [f"{sign} {node[key]}" for key, sign in (("minimum", ">="), ("exclusiveMinimum", ">"),
                                                     ("maximum", "<="), ("exclusiveMaximum", "<"))
              if key in node]
    return text + (f" ({', '.join(bounds)})" if bounds else "")


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _rows(properties: dict, schema: dict, prefix: str) -> list[str]:
    rows = []
    for name, raw in properties.items():
        node = _resolve(raw, schema)
        key = f"{prefix}{name}"
        default = json.dumps(node["default"]) if "default" in node else ""
        nested = node.get("properties")
        if nested:
            rows.append(f"| `{key}` | object | | {_cell(node.get('description', ''))} |")
            rows += _rows(nested, schema, f"{key}.")
            continue
        rows.append(f"| `{key}` | {_cell(_type(node))} | {f'`{default}`' if default else ''} | "
                    f"{_cell(node.get('description', ''))} |")
    return rows


def reference() -> str:
    """The page's text."""
    schema = yaml.safe_load(SCHEMA.read_text())
    parts = [HEADER]
    for section, raw in schema["properties"].items():
        node = _resolve(raw, schema)
        parts.append(f"\n## `{section}`\n")
        leaf = not node.get("properties") and section != "variants"
        if node.get("description") and not leaf:
            parts.append(_cell(node["description"]) + "\n")
        parts.append("| key | type | default | description |\n|---|---|---|---|")
        if section == "variants":
            keys = schema["$defs"]["train_keys"]
            parts.append(f"| `variants.<name>` | object | `{json.dumps(node.get('default'))}` | "
                         "one entry per variant (a name of letters, digits, `_`, `.`, `-`); "
                         "its keys override `train` |")
            parts += _rows(keys, schema, "variants.<name>.")
        elif node.get("properties"):
            parts += _rows(node["properties"], schema, f"{section}.")
        else:
            default = json.dumps(node["default"]) if "default" in node else ""
            parts.append(f"| `{section}` | {_cell(_type(node))} | "
                         f"{f'`{default}`' if default else ''} | "
                         f"{_cell(node.get('description', ''))} |")
    return "\n".join(parts) + "\n"


def main(argv: list[str]) -> int:
    text = reference()
    if "--check" in argv:
        if not OUT.is_file() or OUT.read_text() != text:
            print(f"{OUT.relative_to(ROOT)} is out of date: run python scripts/config_reference.py",
                  file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
