"""Validate DCI envelopes against the SPDCI OpenAPI files in spec/ with jsonschema."""

import functools
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_DIR = Path(__file__).resolve().parents[2] / "spec"
FILES = {"crvs": "crvs_api_v1.0.0.yaml", "ibr": "ibr_api_v1.0.0.yaml", "dr": "dr_api_v1.0.0.yaml"}


@functools.cache
def _registry(role):
    document = yaml.safe_load((SPEC_DIR / FILES[role]).read_text())
    return document, Registry().with_resource("urn:dci", Resource.from_contents(document, DRAFT202012))


def _pointer(*parts):
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def request_errors(role, path, envelope):
    """Schema errors of a request envelope POSTed to ``path`` (empty list: valid)."""
    document, registry = _registry(role)
    if path not in document["paths"]:
        raise KeyError(f"{path} is not in the {role} spec")
    ref = "urn:dci#/" + _pointer("paths", path, "post", "requestBody", "content", "application/json", "schema")
    validator = Draft202012Validator({"$ref": ref}, registry=registry)
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(envelope)]


def response_errors(role, path, envelope):
    """Schema errors of the sync response to ``path`` (the 'default' response)."""
    _document, registry = _registry(role)
    ref = "urn:dci#/" + _pointer("paths", path, "post", "responses", "default")
    response = registry.resolver().lookup(ref).contents
    if "$ref" in response:
        response = registry.resolver().lookup("urn:dci" + response["$ref"]).contents
    schema_ref = ref + "/" + _pointer("content", "application/json", "schema")
    if "content" not in response:
        return []
    validator = Draft202012Validator({"$ref": schema_ref}, registry=registry)
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(envelope)]


def schema_errors(role, component, instance):
    """Errors of ``instance`` against components/schemas/<component>."""
    _document, registry = _registry(role)
    validator = Draft202012Validator(
        {"$ref": "urn:dci#/" + _pointer("components", "schemas", component)}, registry=registry
    )
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(instance)]
