"""The curated mutants: realistic bugs planted one at a time by ``python3 dev.py mutants``.

Each is a small text replacement in one file, the kind of slip a contributor makes (an
off-by-one, a swapped condition, a dropped field, an order that depends on timing), with the
tests that must catch it. ``tests/test_mutants_catalog.py`` checks, in the normal suite, that
every mutant still applies (its text is in its file exactly once), so the catalog follows the
code. A mutant no test can catch because it changes nothing observable is marked
``equivalent`` with the reason.
"""

from __future__ import annotations

import attrs

__all__ = ["Mutant", "MUTANTS", "AREAS"]

#: The areas, as the score table prints them.
AREAS = (
    "templates",
    "graph",
    "validate",
    "serializer",
    "analysis",
    "builder",
    "checks",
    "scheduler",
    "exporters",
    "prefect",
    "routes",
    "batch",
)

_GRAPH_TESTS = (
    "tests/test_graph.py",
    "tests/test_graph_properties.py",
    "tests/test_schema.py",
    "tests/test_validate.py",
)
_RUN_TESTS = (
    "tests/test_asyncio_backend.py",
    "tests/test_reliability.py",
    "tests/test_conformance.py::TestAsyncioConformance",
    "tests/test_conformance.py::TestAsyncioWithConcurrencyLimitConformance",
)
_EXPORT_TESTS = (
    "tests/test_exporter_properties.py",
    "tests/test_mermaid.py",
    "tests/test_dot.py",
    "tests/test_display.py",
)
_PREFECT_TESTS = (
    "tests/test_prefect_cache_keys.py",
    "tests/test_prefect_backend.py",
    "tests/test_prefect_worker.py",
    "tests/test_prefect_deploy.py",
)
_JSON_TESTS = ("tests/test_ir.py", "tests/test_strategies_cover.py", "tests/test_schema.py")
_ROUTE_RUN_TESTS = (
    "tests/test_routes_runtime.py",
    "tests/test_structured_outputs.py",
    "tests/test_conformance.py::TestAsyncioConformance",
)
_ROUTE_GRAPH_TESTS = ("tests/test_routes_graph.py", "tests/test_validate.py")


@attrs.frozen
class Mutant:
    """Replace ``old`` by ``new`` in ``file`` (a path in the checkout); ``tests`` must fail."""

    id: str
    area: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]
    #: Why the mutant cannot be told apart from the original, if it cannot.
    equivalent: str = ""
    #: Seconds its tests may take before the mutant counts as killed by a hang.
    timeout: float = 600.0


def _m(
    id: str, area: str, file: str, old: str, new: str, tests: tuple[str, ...], **rest: object
) -> Mutant:
    return Mutant(id, area, file, old, new, tests, **rest)  # type: ignore[arg-type]


MUTANTS: tuple[Mutant, ...] = (
    # templates ---------------------------------------------------------------------------
    _m(
        "optional-none-renders-none",
        "templates",
        "irgraph/prompt_values.py",
        "        elif value is not None or not optional:",
        "        elif True:",
        ("tests/test_templates.py", "tests/test_asyncio_backend.py"),
    ),
    _m(
        "optional-read-counts-as-required",
        "templates",
        "irgraph/templates.py",
        "        (optional if is_optional else reads)[key] = None",
        "        reads[key] = None",
        ("tests/test_templates.py", "tests/test_validate.py"),
    ),
    _m(
        "required-none-renders",
        "templates",
        "irgraph/templates.py",
        "        if value is None:\n            raise ValueError(none_message(key))\n"
        "        values[key] = value\n        text +=",
        "        if value is None and False:\n            raise ValueError(none_message(key))\n"
        "        values[key] = value\n        text +=",
        ("tests/test_templates.py", "tests/test_state_none.py"),
    ),
    _m(
        "required-none-listed",
        "templates",
        "irgraph/templates.py",
        "        if value is None:\n            raise ValueError(none_message(key))\n"
        "        values[key] = value\n    if template.optional_reads:",
        "        if value is None and False:\n            raise ValueError(none_message(key))\n"
        "        values[key] = value\n    if template.optional_reads:",
        ("tests/test_templates.py", "tests/test_state_none.py"),
    ),
    _m(
        "optional-keys-missing-from-values",
        "templates",
        "irgraph/templates.py",
        "            if key in state:\n                values[key] = state[key]",
        "            if key in state and False:\n                values[key] = state[key]",
        ("tests/test_templates.py", *_RUN_TESTS),
    ),
    _m(
        "system-prompt-sent-unfilled",
        "templates",
        "irgraph/templates.py",
        "    if system is None:\n        return prompt, text, values",
        "    if True:\n        return prompt, text, values",
        ("tests/test_system_prompt.py", *_RUN_TESTS),
    ),
    # graph -------------------------------------------------------------------------------
    _m(
        "system-prompt-reads-dropped",
        "graph",
        "irgraph/ir/agent_node.py",
        "        return joined_reads(self.template, system)[0]",
        "        return self.template.reads",
        ("tests/test_system_prompt.py", *_GRAPH_TESTS),
    ),
    _m(
        "duplicate-ids-start-at-1",
        "graph",
        "irgraph/graph.py",
        'candidate = name if seen == 0 else f"{name}#{seen + 1}"',
        'candidate = name if seen == 0 else f"{name}#{seen}"',
        _GRAPH_TESTS,
    ),
    _m(
        "data-edge-to-first-writer",
        "graph",
        "irgraph/graph.py",
        "        env.local[key] = writer\n",
        "        env.local.setdefault(key, writer)\n",
        _GRAPH_TESTS,
    ),
    _m(
        "parallel-reads-own-sibling",
        "graph",
        "irgraph/graph_parallel.py",
        "if owner is not None and owner[1] != index:",
        "if owner is not None and owner[1] == index:",
        _GRAPH_TESTS,
    ),
    _m(
        "parallel-write-race-unreported",
        "graph",
        "irgraph/graph_parallel.py",
        "            if key in writer_branch:\n",
        "            if key in writer_branch and False:\n",
        _GRAPH_TESTS,
    ),
    _m(
        "scope-exits-not-led-on",
        "graph",
        "irgraph/graph.py",
        "            self.control(exits, after)",
        "            self.control(exits[:1], after)",
        (*_GRAPH_TESTS, *_RUN_TESTS),
    ),
    _m(
        "edge-keys-unsorted",
        "graph",
        "irgraph/graph.py",
        "            insort(keys, key)  # kept sorted as it grows",
        "            keys.append(key)",
        _GRAPH_TESTS,
        equivalent="every step writes one key, so a data edge joins one writer to one reader "
        "and carries one key: a list of one is sorted either way",
    ),
    _m(
        "lift-drops-cross-scope-edges",
        "graph",
        "irgraph/schema_scopes.py",
        "            return a, parents_v[parent]",
        "            return None",
        (*_GRAPH_TESTS, *_RUN_TESTS, "tests/test_analysis.py"),
    ),
    # validate ----------------------------------------------------------------------------
    _m(
        "map-item-not-bound",
        "validate",
        "irgraph/validate.py",
        '            if nodes[parent]["item"] == key:\n                return True',
        '            if nodes[parent]["item"] == key:\n                pass',
        ("tests/test_validate.py", "tests/test_graph_properties.py"),
    ),
    _m(
        "declared-inputs-ignored",
        "validate",
        "irgraph/validate.py",
        'return (use_declared and key in G.graph.get("inputs", ())) or key in inputs',
        "return key in inputs",
        ("tests/test_validate.py", "tests/test_graph.py"),
    ),
    _m(
        "initial-none-accepted",
        "validate",
        "irgraph/initial_values.py",
        "    empty = {key for key in needs if state[key] is None}",
        "    empty: set[str] = set()",
        ("tests/test_validate.py", "tests/test_state_none.py"),
    ),
    _m(
        "initial-unlisted-accepted",
        "validate",
        "irgraph/initial_values.py",
        '            if not bound(nid, data["over"]):',
        "            if False:",
        ("tests/test_initial_values.py",),
    ),
    _m(
        "initial-field-read-accepted",
        "validate",
        "irgraph/template_fields.py",
        "        if fault is not None and fault[0] not in told:",
        "        if False:",
        ("tests/test_template_initial_values.py",),
    ),
    _m(
        "untrusted-function-not-refused",
        "validate",
        "irgraph/validate.py",
        "    if refused:\n        raise PipelineError(refused)",
        "    if refused and False:\n        raise PipelineError(refused)",
        ("tests/test_untrusted.py", "tests/test_bad_inputs.py"),
    ),
    # serializer --------------------------------------------------------------------------
    _m(
        "json-drops-gate-timeout",
        "serializer",
        "irgraph/ir/json.py",
        "        elif name in _WHEN_SET and not value:\n            continue",
        "        elif name in _WHEN_SET and not value:\n            continue\n"
        '        elif name == "timeout" and type(node).__name__ == "GateNode":\n'
        "            continue",
        _JSON_TESTS,
    ),
    _m(
        "json-drops-map-item",
        "serializer",
        "irgraph/ir/json.py",
        "        out[name] = value\n",
        '        if name != "item":\n            out[name] = value\n',
        _JSON_TESTS,
    ),
    _m(
        "json-loses-allow-list",
        "serializer",
        "irgraph/ir/json.py",
        "        return FunctionRef(ref, allow=allowed)",
        "        return FunctionRef(ref)",
        ("tests/test_untrusted.py", "tests/test_ir.py"),
    ),
    _m(
        "graph-until-function-lost",
        "serializer",
        "irgraph/schema.py",
        '        return function_ref(node, "until_function", until, allow)',
        '        return data["until"]',
        _JSON_TESTS,
    ),
    _m(
        "graph-pinned-id-lost",
        "serializer",
        "irgraph/schema.py",
        '        return data.get("pinned")  # not "id", which node-link JSON uses for the node id',
        "        return None",
        _JSON_TESTS,
    ),
    # analysis ----------------------------------------------------------------------------
    _m(
        "loop-costs-one-iteration",
        "analysis",
        "irgraph/analysis.py",
        'body *= iterations(node) if iterations else (data["max_iterations"] or 1)',
        "body *= 1",
        ("tests/test_analysis.py",),
    ),
    _m(
        "makespan-ignores-concurrency",
        "analysis",
        "irgraph/analysis.py",
        "    slots = concurrency or len(order) or 1",
        "    slots = len(order) or 1",
        ("tests/test_analysis.py",),
    ),
    _m(
        "diff-ignores-settings",
        "analysis",
        "irgraph/diffs.py",
        "                if json_key(old[f]) != json_key(new[f]):",
        "                if False:",
        ("tests/test_analysis.py",),
    ),
    # builder -----------------------------------------------------------------------------
    _m(
        "sequence-does-not-flatten",
        "builder",
        "irgraph/builder.py",
        "    if _flattens(right, cls):\n        for item in _items(right._config[key]):",
        "    if False:\n        for item in _items(right._config[key]):",
        ("tests/test_builder.py",),
    ),
    _m(
        "loop-times-off-by-one",
        "builder",
        "irgraph/builder.py",
        "._with(steps=chain, max_iterations=times)",
        "._with(steps=chain, max_iterations=times + 1)",
        ("tests/test_builder.py",),
    ),
    _m(
        "nesting-limit-off-by-one",
        "builder",
        "irgraph/checks.py",
        "    if depth > MAX_DEPTH:",
        "    if depth > MAX_DEPTH + 1:",
        ("tests/test_depth.py",),
    ),
    # checks ------------------------------------------------------------------------------
    _m(
        "seconds-accept-nan",
        "checks",
        "irgraph/checks.py",
        "        lambda v: _is_number(v) and finite(v) and v > 0,",
        "        lambda v: _is_number(v) and not v <= 0,",
        ("tests/test_checks.py", "tests/test_bad_inputs.py"),
    ),
    _m(
        "key-accepts-unicode",
        "checks",
        "irgraph/checks.py",
        'KEY_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\\Z")',
        'KEY_PATTERN = re.compile(r"\\w+\\Z")',
        ("tests/test_checks.py", "tests/test_bad_inputs.py"),
    ),
    _m(
        "package-allows-its-neighbours",
        "checks",
        "irgraph/ir/functions.py",
        'return any(".".join(parts[:i]) in self.allow for i in range(1, len(parts) + 1))',
        "return any(a.startswith(parts[0]) for a in self.allow) or self.module in self.allow",
        ("tests/test_untrusted.py",),
    ),
    # prefect ---------------------------------------------------------------------------
    _m(
        "generated-system-prompt-unfilled",
        "prefect",
        "backends/prefect_runtime.py",
        "filled_prompts(template, _system_template(system), system, state)",
        "filled_prompts(template, None, system, state)",
        ("tests/test_prefect_routes.py",),
    ),
    _m(
        "cache-key-ignores-position",
        "prefect",
        "backends/prefect_runtime.py",
        '    where = "/".join(f"{scope}[{index}]" for scope, index in path)',
        '    where = ""',
        _PREFECT_TESTS,
    ),
    _m(
        "cache-key-ignores-model",
        "prefect",
        "backends/prefect_runtime.py",
        '    parts = [scope, node, where, digest, model or "-"]',
        "    parts = [scope, node, where, digest]",
        _PREFECT_TESTS,
    ),
    _m(
        "runs-share-answers",
        "prefect",
        "backends/prefect_runtime.py",
        '    scope = "shared" if run_key is None else _run_scope(run_key)',
        '    scope = "shared"',
        _PREFECT_TESTS,
    ),
    _m(
        "generated-loop-ignores-position",
        "prefect",
        "backends/prefect_codegen.py",
        'body: list[str] = [f"here = (*path, ({_lit(nid)}, iteration))"]',
        'body: list[str] = ["here = path"]',
        _PREFECT_TESTS,
    ),
    _m(
        "generated-map-ignores-position",
        "prefect",
        "backends/prefect_codegen.py",
        '                    f"here = (*path, ({_lit(nid)}, index))",',
        '                    "here = path",',
        _PREFECT_TESTS,
    ),
    _m(
        "generated-agent-timeout-dropped",
        "prefect",
        "backends/prefect_codegen.py",
        "        if node.timeout is not None:\n            options.append(",
        "        if False:\n            options.append(",
        ("tests/test_prefect_generated_tasks.py", *_PREFECT_TESTS),
    ),
    _m(
        "generated-map-concurrency-dropped",
        "prefect",
        "backends/prefect_codegen.py",
        "        if node.max_concurrency:\n"
        '            body = ["async with limit:", *_indent(body)]',
        "        if False:\n            body = []",
        ("tests/test_prefect_generated_tasks.py", *_PREFECT_TESTS),
    ),
    # scheduler -------------------------------------------------------------------------
    _m(
        "plain-agent-system-prompt-unfilled",
        "scheduler",
        "backends/plan.py",
        "                self.plain_request = system_plain_request",
        "                pass",
        ("tests/test_system_prompt.py", *_RUN_TESTS),
    ),
    _m(
        "timeout-counts-the-wait-for-a-slot",
        "scheduler",
        "backends/scheduler.py",
        "                async with slot(self, request.node, path, asked):"
        "  # a handler is told of a wait\n"
        "                    start = _now()\n"
        "                    waited = start - asked if queued else 0.0\n"
        "                    text = await with_timeout(self.model_answer(request, path), "
        "seconds, code)",
        "                async def wait_and_call() -> str:\n"
        "                    async with slot(self, request.node, path, asked):\n"
        "                        return await self.model_answer(request, path)\n\n"
        "                text = await with_timeout(wait_and_call(), seconds, code)",
        ("tests/test_timeouts.py", *_RUN_TESTS),
    ),
    _m(
        "slot-wait-not-measured",
        "scheduler",
        "backends/scheduler.py",
        "                    waited = start - asked if queued else 0.0\n",
        "",
        ("tests/test_run_view_mended.py",),
    ),
    _m(
        "drivers-cancelled-in-hash-order",
        "scheduler",
        "backends/drivers.py",
        "        for key, task in self.tasks.items():\n            if not task.done():",
        "        for key, task in sorted(self.tasks.items(), key=lambda kv: id(kv[1])):\n"
        "            if not task.done():",
        ("tests/test_plain_agents.py",),
    ),
    _m(
        "map-results-in-finish-order",
        "scheduler",
        "backends/scheduler.py",
        "            results[index] = collected(local, op.collect, step.id, index)",
        "            results[results.index(None) if None in results else index] = collected(\n"
        "                local, op.collect, step.id, index\n"
        "            )",
        ("tests/test_plain_agents.py", *_RUN_TESTS),
    ),
    _m(
        "run-timeout-overrides-node-timeout",
        "scheduler",
        "backends/scheduler.py",
        "            seconds = step.timeout or self.timeout",
        "            seconds = self.timeout or step.timeout",
        _RUN_TESTS,
    ),
    _m(
        "loop-one-iteration-short",
        "scheduler",
        "backends/scheduler.py",
        "        for iteration in range(step.op.max_iterations):",
        "        for iteration in range(max(1, step.op.max_iterations - 1)):",
        _RUN_TESTS,
    ),
    _m(
        "loop-until-key-ignored",
        "scheduler",
        "backends/loop_ends.py",
        "    return bool(value)",
        "    return False",
        _RUN_TESTS,
    ),
    _m(
        "map-concurrency-ignored",
        "scheduler",
        "backends/scheduler.py",
        "        limit = asyncio.Semaphore(op.max_concurrency) if op.max_concurrency else None",
        "        limit = None",
        _RUN_TESTS,
    ),
    _m(
        "gate-answer-not-written",
        "scheduler",
        "backends/scheduler.py",
        "                if step.op.writes:"
        "  # once its time has not run out: a late value is not kept\n",
        '                if step.op.writes and kind != "gate":\n',
        _RUN_TESTS,
    ),
    _m(
        "successor-started-before-all-predecessors",
        "scheduler",
        "backends/scheduler.py",
        "if left == 0:",
        "if left <= 1:",
        _RUN_TESTS,
    ),
    _m(
        "failing-driver-leaves-siblings-running",
        "scheduler",
        "backends/drivers.py",
        "            self.abort()\n            if not self.closing",
        "            if not self.closing",
        ("tests/test_drivers.py", "tests/test_runtime_failures.py", *_RUN_TESTS),
    ),
    _m(
        "scope-task-keeps-the-groups-cancel-request",
        "scheduler",
        "backends/drivers.py",
        "            if self.parent.uncancel() == 0:",
        "            if self.parent.cancelling() == 1:",
        ("tests/test_drivers.py", "tests/test_runtime_failures.py", *_RUN_TESTS),
    ),
    _m(
        "ready-nodes-start-out-of-plan-order",
        "scheduler",
        "backends/scheduler.py",
        "                            elif eager:",
        "                            elif not eager:",
        ("tests/test_drivers.py", "tests/test_prediction_property.py", *_RUN_TESTS),
    ),
    _m(
        "completed-not-recorded",
        "scheduler",
        "backends/scheduler.py",
        "            self.completed.append(nid)\n",
        "",
        _RUN_TESTS,
    ),
    _m(
        "map-over-output-of-the-last-to-finish",
        "scheduler",
        "backends/plain_agents.py",
        "    if kept is not None and kept > path:\n        return False\n",
        "",
        ("tests/test_plain_agents.py",),
    ),
    _m(
        "generated-transform-blocks-the-loop",
        "prefect",
        "backends/prefect_runtime.py",
        "            value = await call_blocking(fn, *args, **kwargs)",
        "            value = fn(*args, **kwargs)",
        (
            "tests/test_blocking_provider.py",
            "tests/test_prefect_generated_tasks.py",
            *_PREFECT_TESTS,
        ),
    ),
    _m(
        "sync-transform-blocks-the-loop",
        "scheduler",
        "backends/user_code.py",
        "        value = await call_blocking(fn, *args, **kwargs)",
        "        value = fn(*args, **kwargs)",
        ("tests/test_runtime_blocking.py", *_RUN_TESTS),
    ),
    _m(
        "plain-agent-completion-not-recorded",
        "scheduler",
        "backends/plain_agents.py",
        "    run.completed.append(nid)\n    trace = run.trace\n",
        "    trace = run.trace\n",
        _RUN_TESTS,
    ),
    _m(
        "plain-agent-failed-call-not-recorded",
        "scheduler",
        "backends/scheduler.py",
        "                            except BaseException as exc:\n"
        "                                self.call_log.failed(request, path, begun, exc)\n",
        "                            except BaseException as exc:\n",
        _RUN_TESTS,
    ),
    # exporters ---------------------------------------------------------------------------
    _m(
        "mermaid-edges-reversed",
        "exporters",
        "backends/mermaid.py",
        '            lines.append(f"{ids[u]} --> {ids[v]}")',
        '            lines.append(f"{ids[v]} --> {ids[u]}")',
        _EXPORT_TESTS,
    ),
    _m(
        "mermaid-quote-unescaped",
        "exporters",
        "backends/mermaid_labels.py",
        """_NAMED = {'"': "#quot;", "#": "#35;", "<": "#lt;", ">": "#gt;", "&": "#amp;"}""",
        """_NAMED = {"#": "#35;", "<": "#lt;", ">": "#gt;", "&": "#amp;"}""",
        _EXPORT_TESTS,
    ),
    _m(
        "mermaid-data-key-dropped",
        "exporters",
        "backends/mermaid.py",
        '        label = arrow(", ".join(keys)) if data_edges and keys else None',
        '        label = arrow(", ".join(keys[:1])) if data_edges and keys else None',
        _EXPORT_TESTS,
    ),
    _m(
        "mermaid-node-outside-its-scope",
        "exporters",
        "backends/mermaid.py",
        '        lines += _node_lines(G, child, ids, children, pad + "    ", wrap)\n'
        '    lines.append(f"{pad}end")',
        "        pass\n"
        '    lines.append(f"{pad}end")\n'
        "    for child in children.get(item, ()):\n"
        "        lines += _node_lines(G, child, ids, children, pad, wrap)",
        _EXPORT_TESTS,
    ),
    _m(
        "mermaid-direction-ignored",
        "exporters",
        "backends/mermaid.py",
        '    lines = [f"graph {direction}"]',
        '    lines = ["graph TD"]',
        _EXPORT_TESTS,
    ),
    _m(
        "dot-edges-reversed",
        "exporters",
        "backends/dot.py",
        "        dot.add_edge(pd.Edge(ids[u], ids[v], **attrs))",
        "        dot.add_edge(pd.Edge(ids[v], ids[u], **attrs))",
        _EXPORT_TESTS,
    ),
    _m(
        "dot-ampersand-unescaped",
        "exporters",
        "backends/dot_quoting.py",
        '            out.append("&amp;")  # Graphviz reads &...; entities in every label',
        '            out.append("&")',
        _EXPORT_TESTS,
    ),
    _m(
        "dot-scope-not-a-cluster",
        "exporters",
        "backends/dot.py",
        '            inside = pd.Cluster(ids[item], label=title, style="dashed")\n'
        "            holder.add_subgraph(inside)",
        "            inside = holder",
        _EXPORT_TESTS,
    ),
    _m(
        "dot-data-only-edges-kept",
        "exporters",
        "backends/dot.py",
        "        if not control and not (data_edges and keys):\n            continue",
        "        if not control and not keys:\n            continue",
        _EXPORT_TESTS,
    ),
    # routes, settings and structured outputs (issue 17) ---------------------------------
    _m(
        "route-ignores-the-value",
        "routes",
        "backends/routes.py",
        "            if found and same_value(value, case.value):",
        "            if found:",
        _ROUTE_RUN_TESTS,
    ),
    _m(
        "route-otherwise-first",
        "routes",
        "backends/routes.py",
        '        if case.kind == "otherwise":\n            return index',
        '        if case.kind == "otherwise":\n            continue',
        _ROUTE_RUN_TESTS,
    ),
    _m(
        "route-constraints-not-read",
        "routes",
        "irgraph/route_check.py",
        "            elif (why := self._refused(value, sources)) is not None:",
        "            elif (why := self._refused(value, sources)) is not None and False:",
        ("tests/test_route_constraints.py",),
    ),
    _m(
        "route-refusal-ignores-the-other-spelling",
        "routes",
        "irgraph/route_values.py",
        "        spellings.append(int(value))",
        "        pass",
        ("tests/test_route_constraints.py",),
    ),
    _m(
        "json-true-equals-one",
        "routes",
        "irgraph/ir/values.py",
        "    if isinstance(a, bool) != isinstance(b, bool):\n        return False\n",
        "",
        ("tests/test_routes_runtime.py", "tests/test_doctests.py", "tests/test_routes_graph.py"),
    ),
    _m(
        "structured-output-never-retries",
        "routes",
        "backends/outputs.py",
        "            if current.attempt > retries:",
        "            if current.attempt > 0:",
        _ROUTE_RUN_TESTS,
    ),
    _m(
        "structured-output-keeps-the-first-feedback",
        "routes",
        "backends/outputs.py",
        "current = attrs.evolve(current, attempt=current.attempt + 1, feedback=feedback(error))",
        "current = attrs.evolve(current, attempt=current.attempt + 1)",
        _ROUTE_RUN_TESTS,
    ),
    _m(
        "feedback-quotes-the-taken-out-value",
        "routes",
        "irgraph/ir/output_replies.py",
        "{cut(repr(sent_text(error.reply)))}",
        "{cut(repr(error.reply))}",
        ("tests/test_openai_schemas.py", "tests/test_output_replies.py"),
    ),
    _m(
        "templates-print-python-reprs",
        "routes",
        "irgraph/prompt_values.py",
        "    if isinstance(value, (dict, list, tuple)) or is_model(value):",
        "    if False:",
        ("tests/test_structured_outputs.py", "tests/test_templates.py", "tests/test_doctests.py"),
    ),
    _m(
        "maybe-written-not-recorded",
        "routes",
        "irgraph/graph_routes.py",
        "                w.maybe[(writers[0], key)] = (",
        "                w.maybe[(writers[0], key)] = None and (",
        _ROUTE_GRAPH_TESTS,
    ),
    _m(
        "map-over-text-allowed",
        "routes",
        "irgraph/typing_rules.py",
        '        if kind in (None, "array"):',
        '        if kind in (None, "array", "text"):',
        _ROUTE_GRAPH_TESTS,
    ),
    _m(
        "cache-key-ignores-settings",
        "routes",
        "backends/prefect_runtime.py",
        "    asked = [system, dict(settings or {}), _plain(output_schema), attempt]",
        "    asked = [system, {}, _plain(output_schema), attempt]",
        ("tests/test_prefect_routes.py",),
    ),
    _m(
        "route-drawn-as-a-box",
        "routes",
        "backends/mermaid.py",
        """    "route": ('{"', '"}'),""",
        """    "route": ('["', '"]'),""",
        _EXPORT_TESTS,
    ),
    # batches and the command line (the fifth and sixth outside trials) ---------------------
    _m(
        "made-up-results-stand-for-real-ones",
        "batch",
        "irgraph/batch_store.py",
        '        if data.get("made_up") is True and not self.made_up:',
        "        if False:",
        ("tests/test_batch_trial5.py", "tests/test_cli_batch_trial5.py"),
    ),
    _m(
        "results-file-not-held",
        "batch",
        "irgraph/cli_batch_lock.py",
        "            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)",
        "            pass",
        ("tests/test_cli_batch_trial5.py",),
    ),
    _m(
        "misspelt-schema-keyword-ignored",
        "routes",
        "irgraph/ir/schema_words.py",
        "            if meant:",
        "            if False:",
        ("tests/test_routes_trial6.py",),
    ),
    _m(
        "otherwise-branch-not-narrowed",
        "routes",
        "irgraph/reaching.py",
        '                taken = tuple((c["equals"], sid) for c in cases[:index] if "equals" in c)',
        "                taken = ()",
        ("tests/test_route_narrowing.py",),
    ),
    _m(
        "otherwise-leaves-out-later-values-too",
        "routes",
        "irgraph/reaching.py",
        'for c in cases[:index] if "equals" in c)',
        'for c in cases if "equals" in c)',
        ("tests/test_route_narrowing_executions.py",),
    ),
    _m(
        "loop-stop-not-narrowed",
        "routes",
        "irgraph/typing_rules.py",
        "            if isinstance(item, Narrowed) and not item.admits(target):",
        "            if False:",
        ("tests/test_route_narrowing_scopes.py",),
    ),
    _m(
        "item-of-an-item-anything",
        "routes",
        "irgraph/route_check.py",
        "                listed = self._items_of(writer)",
        "                listed = None",
        ("tests/test_route_reaching.py",),
    ),
)
