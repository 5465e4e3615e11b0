"""The docs that are generated stay true: the configuration reference is the schema's."""

import importlib.util

from .conftest import ROOT


def _reference_module():
    spec = importlib.util.spec_from_file_location("config_reference",
                                                  ROOT / "scripts" / "config_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_configuration_reference_is_the_schemas():
    """docs/configuration.md is what scripts/config_reference.py writes from the schema: a key,
    default or description changed in the schema without regenerating it fails here."""
    ref = _reference_module()
    assert ref.OUT.read_text() == ref.reference(), \
        "docs/configuration.md is out of date: run python scripts/config_reference.py"


def test_every_config_key_is_in_the_reference_with_a_description():
    """Every key the schema validates has a row, and every row says what the key does."""
    import yaml

    ref = _reference_module()
    schema = yaml.safe_load(ref.SCHEMA.read_text())
    text = ref.reference()

    def keys(properties, prefix):
        for name, raw in properties.items():
            node = ref._resolve(raw, schema)
            yield f"{prefix}{name}", node
            yield from keys(node.get("properties", {}), f"{prefix}{name}.")

    found = list(keys(schema["properties"], ""))
    found += [(f"variants.<name>.{k}", v) for k, v in schema["$defs"]["train_keys"].items()]
    assert len(found) > 100
    for key, node in found:
        assert f"| `{key}` |" in text or f"## `{key}`" in text, key
        if not node.get("properties"):
            assert node.get("description"), f"config key {key} has no description in the schema"
