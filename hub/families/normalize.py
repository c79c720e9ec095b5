"""Bring a framework's own ONNX export to the hub's conventions (the graph surgery, written once).

Frameworks that write ONNX themselves (CatBoost's ``save_model(format="onnx")``, skl2onnx with its
defaults, old exporters) produce graphs the hub cannot serve as they are: a ZipMap output (a
sequence of maps, not a tensor), inputs named ``features`` or ``X`` rather than the tabular
convention's ``input``, no import of the default ``ai.onnx`` domain, IR version 3.
:func:`normalize_onnx` fixes all of these on a copy; a family calls it at the end of ``export``::

    from hub.families import INPUT_NAME, normalize_onnx

    onnx_model = normalize_onnx(
        native,                                   # the framework's ModelProto
        family="catboost",                        # named in every error
        rename_inputs={"features": INPUT_NAME},
        rename_outputs={"label": "label", "probabilities": "probabilities"},
        opset=opset,                              # the export's ``opset`` argument (None: default)
        graph_name="catboost_CatBoostClassifier", # fixed name: reproducible bytes
    )

What it does, in order: drops every ZipMap that produces a graph output, so the output becomes
the float32 ``[batch, classes]`` probability tensor the ZipMap was built from (under the
ZipMap output's name, so ``rename_outputs`` sees the names the framework wrote); renames inputs
and outputs (an internal value already holding a wanted name is moved aside); imports the
default domain at ``opset`` (or :data:`~hub.onnx.versions.DEFAULT_OPSET`) when the graph
imports none, and converts a default-domain opset older than :data:`MIN_OPSET`; raises an IR
version too old for the imported opsets to the oldest that carries them (never lowers one: the
hub's own checks refuse an IR or opset newer than the installed onnxruntime reads).

Errors are :class:`hub.errors.ExportFailed` naming the family.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import onnx
from onnx import ModelProto, TensorProto, helper

from hub.errors import ExportFailed, first_line
from hub.onnx.versions import DEFAULT_OPSET

#: Oldest ai.onnx opset kept as it is; older graphs are converted to ``DEFAULT_OPSET``
#: (onnxruntime runs opset 7 and newer).
MIN_OPSET = 7
_DEFAULT_DOMAINS = ("", "ai.onnx")


def normalize_onnx(
    model: ModelProto,
    *,
    family: str,
    rename_inputs: Mapping[str, str] | None = None,
    rename_outputs: Mapping[str, str] | None = None,
    opset: int | None = None,
    graph_name: str | None = None,
) -> ModelProto:
    """A copy of ``model`` that the hub can check, store and serve (see the module docstring).

    ``rename_inputs`` / ``rename_outputs`` map the graph's names (after ZipMap removal) to the
    project's names; every key must be a graph input / output. ``opset`` is the default-domain
    opset imported when the graph imports none. ``model`` itself is never changed.
    """
    if not isinstance(model, ModelProto):
        raise ExportFailed(
            f"family {family!r}: normalize_onnx takes an onnx.ModelProto, not "
            f"{type(model).__name__}"
        )
    result = ModelProto()
    result.CopyFrom(model)
    graph = result.graph
    for node in [n for n in graph.node if n.op_type == "ZipMap"]:
        _drop_zipmap(graph, node, family)
    _rename_all(graph, rename_inputs or {}, [v.name for v in graph.input], "input", family)
    _rename_all(graph, rename_outputs or {}, [v.name for v in graph.output], "output", family)
    _fix_versions(result, opset, family)
    if graph_name:
        graph.name = graph_name
    return result


def _drop_zipmap(graph: onnx.GraphProto, node: onnx.NodeProto, family: str) -> None:
    """Serve the probability tensor a ZipMap reads instead of the ZipMap's sequence of maps."""
    output = node.output[0]
    position = next((i for i, v in enumerate(graph.output) if v.name == output), None)
    if position is None:
        return  # an internal ZipMap is the graph's own business
    if any(output in n.input for n in graph.node):
        raise ExportFailed(
            f"family {family!r}: ZipMap output {output!r} is also read inside the graph; "
            "it cannot be replaced by its probability tensor"
        )
    classes = next(
        (
            len(a.ints) or len(a.strings)
            for a in node.attribute
            if a.name in ("classlabels_int64s", "classlabels_strings")
        ),
        None,
    )
    source = node.input[0]
    graph.node.remove(node)
    _rename(graph, source, output)
    probabilities = helper.make_tensor_value_info(output, TensorProto.FLOAT, [None, classes])
    # A symbolic batch dimension, as the rest of the hub's exports declare it.
    probabilities.type.tensor_type.shape.dim[0].dim_param = "N"
    del graph.output[position]
    graph.output.insert(position, probabilities)
    for info in [v for v in graph.value_info if v.name == output]:
        graph.value_info.remove(info)


def _rename_all(
    graph: onnx.GraphProto, names: Mapping[str, str], current: list[str], kind: str, family: str
) -> None:
    unknown = [old for old in names if old not in current]
    if unknown:
        raise ExportFailed(
            f"family {family!r}: cannot rename {kind}(s) {', '.join(map(repr, unknown))}: the "
            f"graph's {kind}s are {', '.join(map(repr, current))}"
        )
    boundary = {v.name for v in graph.input} | {v.name for v in graph.output}
    for old, new in names.items():
        if old == new:
            continue
        if new in boundary:
            raise ExportFailed(
                f"family {family!r}: cannot rename {kind} {old!r} to {new!r}: the graph already "
                f"has an input or output named {new!r}"
            )
        if new in _value_names(graph):  # an internal value: move it out of the way
            _rename(graph, new, _fresh_name(graph, new))
        _rename(graph, old, new)
        boundary = (boundary - {old}) | {new}


def _fix_versions(model: ModelProto, opset: int | None, family: str) -> None:
    default = [e for e in model.opset_import if e.domain in _DEFAULT_DOMAINS]
    if not default:
        model.opset_import.append(helper.make_opsetid("", opset or DEFAULT_OPSET))
    # The oldest IR version that can carry these opsets (IR 3 cannot declare opset 17).
    needed = helper.find_min_ir_version_for(list(model.opset_import), ignore_unknown=True)
    if model.ir_version < needed:
        model.ir_version = needed
    if default and default[0].version < MIN_OPSET:
        try:
            converted = onnx.version_converter.convert_version(model, opset or DEFAULT_OPSET)
        except Exception as exc:
            raise ExportFailed(
                f"family {family!r}: cannot convert ai.onnx opset {default[0].version} to "
                f"{opset or DEFAULT_OPSET}: {first_line(exc)}"
            ) from None
        model.CopyFrom(converted)


def _graphs(graph: onnx.GraphProto) -> Iterator[onnx.GraphProto]:
    """``graph`` and every subgraph of its nodes (If/Loop/Scan bodies), depth first."""
    yield graph
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                yield from _graphs(attribute.g)
            elif attribute.type == onnx.AttributeProto.GRAPHS:
                for sub in attribute.graphs:
                    yield from _graphs(sub)


def _value_names(graph: onnx.GraphProto) -> set[str]:
    names: set[str] = set()
    for g in _graphs(graph):
        names.update(v.name for v in (*g.input, *g.output, *g.value_info))
        names.update(t.name for t in g.initializer)
        for node in g.node:
            names.update(node.input)
            names.update(node.output)
    return names


def _fresh_name(graph: onnx.GraphProto, base: str) -> str:
    taken = _value_names(graph)
    index = 1
    while f"{base}_{index}" in taken:
        index += 1
    return f"{base}_{index}"


def _rename(graph: onnx.GraphProto, old: str, new: str) -> None:
    """Rename the value ``old`` to ``new`` everywhere it is defined or read."""
    for g in _graphs(graph):
        for node in g.node:
            for i, name in enumerate(node.input):
                if name == old:
                    node.input[i] = new
            for i, name in enumerate(node.output):
                if name == old:
                    node.output[i] = new
        for value in (*g.input, *g.output, *g.value_info):
            if value.name == old:
                value.name = new
        for tensor in g.initializer:
            if tensor.name == old:
                tensor.name = new
