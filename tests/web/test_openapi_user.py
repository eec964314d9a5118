"""`catnest/web/openapi-user.yaml` is a valid OpenAPI 3.0 document covering exactly the
endpoints the web server routes. (Every answer of the other tests in this folder is checked
against it: tests/web/conftest.py `check_documented`.)"""

from __future__ import annotations

import jsonschema
from schemathesis.specs.openapi.definitions import OPENAPI_30

from catnest.web.server import all_routes
from tests.web.conftest import DOC

METHODS = {"get", "post", "put", "patch", "delete"}


def test_doc_is_a_valid_openapi_30_document() -> None:
    jsonschema.Draft4Validator(OPENAPI_30).validate(DOC)


def test_doc_covers_exactly_the_routes() -> None:
    routed = {(route.pattern, route.method.lower()) for route in all_routes().entries}
    documented = {
        (path, method)
        for path, item in DOC["paths"].items()
        for method in item
        if method in METHODS
    }
    assert routed == documented


def test_refs_resolve_and_operation_ids_are_unique() -> None:
    ids = [
        op["operationId"]
        for item in DOC["paths"].values()
        for method, op in item.items()
        if method in METHODS
    ]
    assert len(ids) == len(set(ids))

    def walk(node: object) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                target: object = DOC
                for part in ref.removeprefix("#/").split("/"):
                    assert isinstance(target, dict) and part in target, ref
                    target = target[part]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(DOC)
