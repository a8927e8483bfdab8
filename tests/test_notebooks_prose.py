"""No figure a notebook computes is typed into its prose, where a retrain would leave it stale: a sentence that
quotes a result is built by the code that computed it (IPython.display.Markdown), or describes the table beside it
without copying its digits.

A figure is a decimal (99.73, 0.13), a percentage (69%), a number with thousands separators that is not a round
thousand (8,778, but not 60,000), or a count out of a total (27 of 40, 30/30). It is stale-prone when a stored output
of the same notebook prints it: a percentage as a fraction (0.9973 as 99.73%, 99.7% or 100%) or with its %, any
other figure as it is, or rounded (0.1307 as 0.13).
Plain integers (32 filters, 12 epochs, 28x28) are design constants far more often than results, so they are not
checked; a count out of a total is."""

import json
import re
from fractions import Fraction

import pytest

from digitlib.constants import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NUMBER = re.compile(r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w]|,\d)")
PERCENT = re.compile(r"(?:\s*(?:-|to)\s*\d+(?:\.\d+)?)?\s*%")  # 69%, and 69 in 69-79% or 69 to 79%
# 27 of 40, 27 in 10,000, 29/30; not digits named together (4/7/9)
OUT_OF = re.compile(r"\s*(?:/\s*\d\d|(?:of|in)\s+(?:the\s+)?\d)")
CODE = re.compile(r"```.*?```|`[^`]*`", re.DOTALL)
TAG = re.compile(r"<[^>]*>")


def text(lines):
    """A notebook field, stored as one string or a list of lines, as one string."""
    return "".join(lines) if isinstance(lines, list) else lines


def prose_figures(markdown):
    """The figures typed in markdown, code spans left out: [(as typed, value, decimals, is a percentage)]."""
    markdown = CODE.sub(" ", markdown)
    figures = []
    for match in NUMBER.finditer(markdown):
        digits, decimals = match.group(1), match.group(2) or ""
        after = markdown[match.end() :]
        percent, out_of = bool(PERCENT.match(after)), bool(OUT_OF.match(after))
        grouped = "," in digits and int(digits.replace(",", "")) % 1000 != 0
        if decimals or percent or grouped or out_of:
            figures.append((match.group(0), Fraction(digits.replace(",", "") + decimals), len(decimals) - 1, percent))
    return figures


def output_values(outputs):
    """The numbers the outputs print (tables' HTML tags left out): (every number, the percentages), where a
    percentage is printed with its % or as a fraction to 3 or more places (0.9973)."""
    printed = []
    for output in outputs:
        for value in [output.get("text", ""), *output.get("data", {}).values()]:
            if isinstance(value, (str, list)):
                printed.append(TAG.sub(" ", text(value)))
    printed = " ".join(printed)
    numbers, percentages = set(), set()
    for match in NUMBER.finditer(printed):
        value = Fraction(match.group(1).replace(",", "") + (match.group(2) or ""))
        numbers.add(value)
        if PERCENT.match(printed[match.end() :]):
            percentages.add(value)
        elif match.group(2) and len(match.group(2)) > 3 and value <= 1:
            percentages.add(100 * value)
    return numbers, percentages


def rounds_to(value, figure, decimals):
    """Whether value, rounded to the figure's decimals, is the figure."""
    return round(value, max(decimals, 0)) == figure


def stale_prone(notebook):
    """The figures a notebook's markdown cells type that its outputs print: [(cell id, as typed)]."""
    cells = json.loads(notebook.read_text())["cells"]
    numbers, percentages = output_values(output for cell in cells for output in cell.get("outputs", []))
    return [
        (cell.get("id"), typed)
        for cell in cells
        if cell["cell_type"] == "markdown"
        for typed, figure, decimals, percent in prose_figures(text(cell["source"]))
        if any(rounds_to(value, figure, decimals) for value in (percentages if percent else numbers))
    ]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_notebook_prose_types_no_figure_its_code_computes(notebook):
    assert stale_prone(notebook) == [], "print these with code (IPython.display.Markdown) or describe them in words"


def test_prose_figures_are_results_not_design_constants():
    found = [typed for typed, *_ in prose_figures("99.73% in 8.3 min: 27 of 40, 30/30, 8,778 of `0.5`, 7-43% ")]
    assert found == ["99.73", "8.3", "27", "30", "8,778", "7", "43"]
    generic = "# 02 · 28x28 digits, 10 classes, 60,000 images, 32 filters, in 2017, 3x3, notebook 04, 4/7/9 and 3/5/8"
    assert prose_figures(generic) == []


def test_a_fraction_printed_by_code_is_caught_as_a_rounded_percentage():
    numbers, percentages = output_values([{"output_type": "stream", "text": "accuracy 0.9973, 27 errors, 15%\n"}])
    assert {Fraction("0.9973"), 27, 15} <= numbers
    assert any(rounds_to(p, Fraction("99.7"), 1) for p in percentages)
    assert any(rounds_to(p, Fraction("99.73"), 2) for p in percentages)
    assert not any(rounds_to(p, Fraction("99.8"), 1) for p in percentages)
    assert 27 not in percentages and 15 in percentages
