"""The Jinja sandbox: SSTI payloads, size caps, error locations and template helpers."""

from __future__ import annotations

import pytest

from pressroom.renderers.base import TemplateBundle
from pressroom.renderers.errors import LimitError, SandboxError, TemplateError
from pressroom.renderers.limits import RenderLimits
from pressroom.renderers.sandbox import make_environment, render_template


def fill(source: str, data: dict[str, object] | None = None, **files: str) -> str:
    """Render ``source`` as an HTML template in the sandbox."""
    bundle = TemplateBundle.inline(
        "html", source, {k.replace("_", "."): v for k, v in files.items()}
    )
    env = make_environment(bundle, autoescape=True, limits=RenderLimits())
    return render_template(env, bundle.main, data or {}, engine="html")


@pytest.mark.parametrize(
    "payload",
    [
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ ''|attr('__class__')|attr('__mro__') }}",
        "{{ joiner.__init__.__globals__ }}",
        "{{ namespace.__init__.__globals__['os'] }}",
        "{{ (data|attr('__class__')).__base__.__subclasses__() }}",
        "{{ self._TemplateReference__context.cycler.__init__.__globals__ }}",
        "{{ lipsum.__globals__ }}",
        "{{ request.application.__globals__ }}",
        "{{ config.items() }}",
    ],
)
def test_ssti_payloads_are_refused(payload: str) -> None:
    """Known server-side template injection payloads fail without reaching Python internals."""
    with pytest.raises(TemplateError) as info:
        fill(payload)
    assert "uid=" not in str(info.value)


def test_unsafe_attribute_is_a_sandbox_violation() -> None:
    """Reaching for a dunder attribute is reported as a sandbox violation."""
    with pytest.raises(SandboxError, match="unsafe"):
        fill("{{ cycler.__init__.__globals__ }}")


def test_data_cannot_be_mutated() -> None:
    """The immutable sandbox refuses to mutate the job's data."""
    with pytest.raises(SandboxError):
        fill("{{ items.append(1) }}", {"items": []})


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'x' * 10**9 }}",
        "{{ 10**9 * 'x' }}",
        "{{ [0] * 10**9 }}",
        "{{ range(10**9)|list }}",
        "{{ 10 ** 1000000 }}",
        "{{ '%999999999d' % 1 }}",
        "{{ '%*d' % (999999999, 1) }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{{ 'x'.ljust(10**9) }}",
        "{{ 'x'.center(10**9) }}",
        "{{ 'x'|center(10**9) }}",
        "{{ 'a\nb'|indent(10**9) }}",
        "{{ ('x' * 1000)|replace('x', 'y' * 100000) }}",
        "{{ [1,2]|slice(10**9)|list }}",
        "{{ '%s'|format(1) * 10**9 }}",
    ],
)
def test_huge_allocations_are_refused(source: str) -> None:
    """Expressions that would build gigantic strings, lists or numbers stop with a limit error."""
    with pytest.raises((LimitError, SandboxError)) as info:
        fill(source)
    assert (
        "allows" in str(info.value)
        or "not allowed" in str(info.value)
        or "too large" in str(info.value)
    )


def test_huge_string_error_says_why() -> None:
    """The refusal of ``'x' * 10**9`` names the size and the cap, with the template line."""
    with pytest.raises(LimitError) as info:
        fill("line one\n{{ 'x' * 10**9 }}")
    message = str(info.value)
    assert "1,000,000,000" in message and "1,000,000" in message
    assert info.value.line == 2


def test_total_output_is_capped() -> None:
    """A template whose total output exceeds the text cap stops early."""
    bundle = TemplateBundle.inline("html", "{% for i in range(100000) %}{{ s }}{% endfor %}")
    env = make_environment(bundle, autoescape=True, limits=RenderLimits(max_text_chars=10_000))
    with pytest.raises(LimitError, match="more than 10,000 characters"):
        render_template(env, bundle.main, {"s": "abcdefghij" * 10}, engine="html")


def test_undefined_variable_reports_line() -> None:
    """Using a name the data does not have fails with the name and the line."""
    with pytest.raises(TemplateError) as info:
        fill("<p>ok</p>\n<p>{{ customer.name }}</p>", {"invoice": {}})
    assert "customer" in info.value.message
    assert (info.value.file, info.value.line) == ("index.html", 2)


def test_syntax_error_reports_line() -> None:
    """A Jinja syntax error names the file and line."""
    with pytest.raises(TemplateError, match="syntax error") as info:
        fill("a\nb\n{% for x in %}")
    assert info.value.line == 3


def test_includes_come_only_from_the_bundle() -> None:
    """``include`` reads bundle files and a missing one is a template error, not a file read."""
    assert fill("{% include 'part.html' %}", part_html="<b>part</b>") == "<b>part</b>"
    with pytest.raises(TemplateError, match="not in the bundle"):
        fill("{% include '/etc/passwd' %}")


def test_autoescape_protects_html() -> None:
    """Data is escaped in HTML templates."""
    assert fill("{{ v }}", {"v": "<script>"}) == "&lt;script&gt;"


def test_formatting_helpers_use_babel() -> None:
    """Currency, number, percent and date helpers follow the locale."""
    out = fill(
        "{{ 1234.5|format_currency('EUR', 'de_DE') }}|{{ 1234567|format_number('en_US') }}|"
        "{{ 0.25|format_percent('en_US') }}|{{ '2025-03-01'|format_date('long', 'fr_FR') }}"
    )
    assert out == "1.234,50\xa0€|1,234,567|25%|1 mars 2025"


def test_codes_and_charts_are_inline_svg() -> None:
    """QR codes, barcodes and charts render as inline SVG markup, not escaped text."""
    out = fill(
        "{{ qr_svg('hello') }}{{ barcode_svg('ABC-1') }}{{ bar_chart({'a': 1, 'b': 2}) }}"
        "{{ line_chart(labels=['x', 'y'], series={'s': [1, 3]}) }}{{ pie_chart([['a', 1]]) }}"
    )
    assert out.count("<svg") == 5
    assert "&lt;" not in out
    assert "<!DOCTYPE" not in out


def test_chart_text_is_escaped() -> None:
    """Labels from data cannot inject markup into a chart."""
    out = fill("{{ bar_chart({'<script>': 1}) }}")
    assert "<script>" not in out and "&lt;script&gt;" in out


def test_templates_compiled_from_strings_are_reused_and_still_sandboxed() -> None:
    """The same text compiles once per environment (docxtpl compiles every part on each
    render); a reused template still renders fresh data and still refuses unsafe attributes,
    and a syntax error is raised on every attempt, never cached."""
    from jinja2.exceptions import SecurityError, TemplateSyntaxError

    env = make_environment(
        TemplateBundle.inline("html", "x", {}), autoescape=True, limits=RenderLimits()
    )
    first = env.from_string("<p>{{ name }}</p>")
    assert env.from_string("<p>{{ name }}</p>") is first
    assert env.from_string("<p>{{ other }}</p>") is not first
    assert first.render(name="a") == "<p>a</p>" and first.render(name="<b>") == "<p>&lt;b&gt;</p>"
    unsafe = "{{ cycler.__init__.__globals__ }}"
    for _ in range(2):
        with pytest.raises(SecurityError):
            env.from_string(unsafe).render()
        with pytest.raises(TemplateSyntaxError):
            env.from_string("{% if %}")
