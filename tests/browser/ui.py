"""What a person does in JupyterLab or Voila, and what they see, for the browser tests.

Controls are found by their visible label (an unlabeled control cannot be found, which is
the point); charts are read from the SVG that vega-embed renders: title, axis titles, the
number of marks and their aria-labels, the text marks. Waits are on conditions, with
generous timeouts: the test machine is shared and slow, and no assertion is about time.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page

LOAD_TIMEOUT = 180_000  # ms: JupyterLab's first load on a busy machine
RUN_TIMEOUT = 600_000  # ms: a notebook's cells, fits on the real collection included
CHANGE_TIMEOUT = 300_000  # ms: one control change, re-fit and re-render, on a busy machine
#: JupyterLab renders a cell's exception (an "error" output) as text of this MIME type, like
#: a warning on stderr; the traceback's first line tells the two apart.
STDERR_OUTPUT = '.jp-NotebookPanel .jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"]'
TRACEBACK = "Traceback (most recent call last)"
FIND_TIMEOUT = 60_000  # ms: a control or output that should already be on the page

# The ipywidgets controls a person operates, by the CSS classes ipywidgets 8 gives them. A
# lone ToggleButton is a button labelled by its own text; the buttons of ToggleButtons are not.
CONTROLS = ", ".join(f".widget-{kind}" for kind in (
    "dropdown", "slider", "checkbox", "toggle-buttons", "text", "textarea", "radio", "select",
    "select-multiple", "colorpicker", "datepicker", "combobox"))
TOGGLE_BUTTON = "button.widget-toggle-button:not(.widget-toggle-buttons *)"

# Read one vega-embed chart. Vega's SVG renderer puts each mark's items (role
# "graphics-symbol", aria-label describing the datum) in a group of class "role-mark"; axes
# carry an aria-label naming their title and scale type ("... for a log scale ...").
_READ_CHART = """
(embed) => {
  const svg = embed.querySelector('svg.marks');
  if (!svg) return {svg: false, canvas: !!embed.querySelector('canvas')};
  const texts = (sel) => [...svg.querySelectorAll(sel)].map(t => t.textContent.trim()).filter(t => t);
  const items = [...svg.querySelectorAll('.role-mark > [role="graphics-symbol"]')];
  const marks = {};
  for (const item of items) {
    const kind = item.getAttribute('aria-roledescription') || item.tagName;
    marks[kind] = (marks[kind] || 0) + 1;
  }
  const box = svg.getBoundingClientRect();
  return {
    svg: true,
    title: texts('.role-title text'),
    axes: [...svg.querySelectorAll('.role-axis[aria-label]')].map(a => a.getAttribute('aria-label')),
    axis_titles: texts('.role-axis-title text'),
    axis_labels: texts('.role-axis-label text'),
    legend_labels: texts('.role-legend-label text, .role-legend-title text'),
    mark_texts: texts('.mark-text.role-mark text'),
    marks: marks,
    aria: items.map(i => i.getAttribute('aria-label') || ''),
    width: box.width,
    height: box.height,
  };
}
"""


@dataclass(frozen=True)
class ChartState:
    """What a person sees of one chart: texts, marks and the chart's size in CSS pixels.

    ``marks`` counts the data marks' items by kind (``point``, ``line mark``, ``rect``,
    ``text``...); ``aria`` lists their aria-labels (``"x: 1; y: 4"``); ``axes`` the axes'
    aria-labels, which name the scale type.
    """

    title: tuple[str, ...]
    axes: tuple[str, ...]
    axis_titles: tuple[str, ...]
    axis_labels: tuple[str, ...]
    legend_labels: tuple[str, ...]
    mark_texts: tuple[str, ...]
    marks: dict[str, int] = field(hash=False)
    aria: tuple[str, ...] = field(repr=False)
    width: float = field(default=0.0, compare=False)
    height: float = field(default=0.0, compare=False)

    @classmethod
    def read(cls, embed: Locator) -> ChartState:
        raw = embed.evaluate(_READ_CHART)
        if not raw.pop("svg"):
            kind = "a canvas" if raw.get("canvas") else "nothing"
            raise AssertionError(f"the chart rendered {kind}, not SVG: pass embed_options="
                                 "{'renderer': 'svg'} so its marks can be read")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})

    @property
    def n_marks(self) -> int:
        return sum(self.marks.values())


def _exactly(text: str) -> re.Pattern:
    """A pattern matching ``text`` (and an optional colon) alone, for Playwright's text filters.

    Playwright runs it as a JavaScript regex in unicode mode, where ``re.escape``'s escapes of
    "-" or " " are syntax errors: escape only the characters that are syntax there.
    """
    return re.compile(r"^\s*" + re.sub(r"([\^$\\.*+?()\[\]{}|/])", r"\\\1", text) + r"\s*:?\s*$")


def _file_safe(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text)


class Screenshots:
    """Numbered full-page screenshots of one test in ``folder`` (before/after each step)."""

    def __init__(self, page: Page, folder: Path, test_name: str):
        self.page, self.folder, self.test = page, folder, _file_safe(test_name)
        self.count = 0
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, label: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.test}-{self.count:02d}-{_file_safe(label)}.png"
        self.page.screenshot(path=path)
        return path

    def failed(self) -> Path:
        """The page as it was when the test failed."""
        path = self.folder / f"{self.test}-FAILED.png"
        self.page.screenshot(path=path)
        return path


class Surface:
    """Widgets and charts inside one part of a page (a notebook, a cell's output, Voila's body)."""

    def __init__(self, page: Page, root: Locator):
        self.page, self.root = page, root

    def control(self, label: str) -> Locator:
        """The ipywidgets control whose visible label (description) is ``label``."""
        labelled = self.root.locator(CONTROLS).filter(
            has=self.page.locator(".widget-label, .widget-label-basic").filter(has_text=_exactly(label)))
        button = self.root.locator(TOGGLE_BUTTON).filter(has_text=_exactly(label))
        found = labelled.or_(button).first
        found.wait_for(state="visible", timeout=FIND_TIMEOUT)
        return found

    def labels(self) -> list[str]:
        """The visible label of every visible control, "" for a control without one."""
        return self.root.evaluate("""(root, controls) => [...root.querySelectorAll(controls)]
            .filter(w => w.offsetParent !== null)
            .map(w => {
              const own = w.matches('button') ? w.textContent : '';
              const named = [...w.querySelectorAll('.widget-label-basic span, .widget-label')]
                .map(l => l.textContent.replace(/[\\u200b\\s]+/g, ' ').trim()).filter(t => t);
              return (named[0] || own || '').trim();
            })""", f"{CONTROLS}, {TOGGLE_BUTTON}")

    def short_sliders(self, track_px: float = 100) -> list[str]:
        """Sliders whose track is shorter than ``track_px`` (too short to drag): their labels."""
        return self.root.evaluate("""(root, least) => [...root.querySelectorAll('.widget-slider')]
            .filter(s => s.offsetParent !== null)
            .filter(s => (s.querySelector('.noUi-target')?.getBoundingClientRect().width ?? 0) < least)
            .map(s => s.querySelector('.widget-label')?.textContent.trim() || '(unlabelled)')""", track_px)

    def clipped_boxes(self) -> list[str]:
        """Text boxes and slider readouts too narrow for what they hold (a budget of "5.88e21"
        read ".88e21"): their labels and text."""
        return self.root.evaluate("""(root) => [...root.querySelectorAll(
                '.widget-text input, .widget-readout')]
            .filter(e => e.offsetParent !== null)
            .filter(e => e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().width < 8)
            .map(e => (e.closest('.widget-inline-hbox')?.querySelector('.widget-label')?.textContent.trim()
                       || '(unlabelled)') + ': ' + (e.value ?? e.textContent))""")

    def truncated_labels(self) -> list[str]:
        """Labels, checkbox descriptions, toggle buttons and dropdown choices cut off (an ellipsis
        or hidden overflow): their full text."""
        return self.root.evaluate("""(root) => [...root.querySelectorAll(
                '.widget-label, .widget-label-basic, .widget-toggle-button, .widget-dropdown select')]
            .filter(e => e.offsetParent !== null)
            .filter(e => e.tagName === 'SELECT'
                ? (() => { const c = document.createElement('canvas').getContext('2d');
                           c.font = getComputedStyle(e).font;
                           const text = e.options[e.selectedIndex]?.text ?? '';
                           return c.measureText(text).width > e.clientWidth - 20; })()
                : e.scrollWidth > e.clientWidth + 1)
            .map(e => e.tagName === 'SELECT' ? e.options[e.selectedIndex]?.text : e.textContent.trim())""")

    def reveal(self, label: str) -> None:
        """Scroll so that the control labelled ``label`` is at the top of the view."""
        self.control(label).evaluate("e => e.scrollIntoView({block: 'start'})")

    def reveal_chart(self, index: int) -> None:
        """Scroll so that chart ``index`` is at the top of the view."""
        self.charts().nth(index).evaluate("e => e.scrollIntoView({block: 'start'})")

    def text(self, css: str) -> str:
        """The visible text of the first element matching ``css``."""
        return self.root.locator(css).first.inner_text().strip()

    def cut_off_charts(self) -> list[str]:
        """Charts wider than the area showing them (a person would have to scroll sideways)."""
        return self.root.evaluate("""(root) => {
              const right = root.getBoundingClientRect().right;
              return [...root.querySelectorAll('.vega-embed svg.marks')]
                .filter(svg => svg.getBoundingClientRect().right > right + 1)
                .map(svg => (svg.querySelector('.role-title text')?.textContent || '(untitled)')
                            + ` (${Math.round(svg.getBoundingClientRect().right)} > ${Math.round(right)} px)`);
            }""")

    def charts(self) -> Locator:
        """Every rendered vega-embed chart."""
        return self.root.locator(".vega-embed")

    def chart(self, index: int = 0) -> ChartState:
        embed = self.charts().nth(index)
        embed.locator("svg.marks, canvas").first.wait_for(state="attached", timeout=CHANGE_TIMEOUT)
        return ChartState.read(embed)

    def wait_for_chart(self, until: Callable[[ChartState], bool], index: int = 0) -> ChartState:
        """Poll the chart until ``until(state)`` holds; return that state.

        The chart is looked up afresh on every poll: a panel may replace its chart element,
        and a control may redraw it several times (one per key press) before it settles.
        """
        deadline = time.monotonic() + CHANGE_TIMEOUT / 1000
        now = None
        while True:
            try:
                now = self.chart(index)
            except (AssertionError, PlaywrightError):
                pass  # between two renders: no SVG yet
            else:
                if until(now):
                    return now
            if time.monotonic() > deadline:
                raise AssertionError(f"chart {index} not as expected within {CHANGE_TIMEOUT / 1000:.0f} s; "
                                     f"it shows {now}")
            self.page.wait_for_timeout(250)

    def wait_for_chart_change(self, before: ChartState, index: int = 0) -> ChartState:
        """Poll the chart until what it shows differs from ``before``; return the new state."""
        return self.wait_for_chart(lambda now: now != before, index)

    # Controls, operated the way a person operates them.
    def select(self, label: str, option: str) -> None:
        """Pick ``option`` (its visible text) in the dropdown labelled ``label``."""
        self.control(label).locator("select").select_option(label=option)

    def options(self, label: str) -> list[str]:
        return self.control(label).locator("select option").all_inner_texts()

    def press_slider(self, label: str, key: str = "ArrowRight", times: int = 1) -> None:
        """Focus the slider's handle and press ``key`` (ArrowLeft/ArrowRight/Home/End)."""
        handle = self.control(label).locator(".noUi-handle").first
        handle.focus()
        for _ in range(times):
            handle.press(key)

    def step_slider(self, label: str, key: str, times: int, chart: int = 0) -> ChartState:
        """Press ``key`` on the slider ``times`` times, waiting for chart ``chart`` to redraw
        after each press, as a person watching the chart does; returns the last state.

        Presses in quick succession can leave a chart stale: Altair's JupyterChart re-embeds
        asynchronously on each new spec, and an older embedding may finish last.
        """
        state = self.chart(chart)
        for _ in range(times):
            self.press_slider(label, key)
            state = self.wait_for_chart_change(state, chart)
        return state

    def slider_value(self, label: str) -> str:
        return self.control(label).locator(".widget-readout").inner_text().strip()

    def toggle(self, label: str) -> None:
        """Click the checkbox or toggle button labelled ``label``."""
        control = self.control(label)
        checkbox = control.locator("input[type=checkbox]")
        (checkbox if checkbox.count() else control.locator("button").first).click()

    def choose(self, label: str, option: str) -> None:
        """Click the button ``option`` of the toggle buttons labelled ``label``."""
        self.control(label).locator("button").filter(
            has_text=_exactly(option)).first.click()

    def chosen(self, label: str) -> str:
        """The text of the pressed button of the toggle buttons labelled ``label``."""
        return self.control(label).locator("button.mod-active").first.inner_text().strip()

    def type_into(self, label: str, text: str) -> None:
        """Replace the text of the box labelled ``label`` and press Enter."""
        box = self.control(label).locator("input, textarea").first
        box.fill(text)
        box.press("Enter")


class LabNotebook(Surface):
    """A notebook opened in JupyterLab."""

    def __init__(self, page: Page, url: str):
        page.goto(url, timeout=LOAD_TIMEOUT)
        panel = page.locator(".jp-NotebookPanel").first
        panel.wait_for(state="visible", timeout=LOAD_TIMEOUT)
        super().__init__(page, panel)
        self.wait_for_kernel_idle()

    def kernel_dialog(self) -> str | None:
        """The text of an open dialog (kernel selection or other), or None."""
        dialog = self.page.locator(".jp-Dialog")
        return dialog.first.inner_text() if dialog.count() else None

    def kernel_name(self) -> str:
        return self.page.locator(".jp-NotebookPanel-toolbar .jp-KernelName").first.inner_text().strip()

    def wait_for_kernel_idle(self) -> None:
        """Wait until the notebook has a kernel (not "No Kernel") and it is idle."""
        self.page.wait_for_function(
            """() => {
              const name = document.querySelector('.jp-NotebookPanel-toolbar .jp-KernelName');
              const status = document.querySelector('.jp-Notebook-ExecutionIndicator');
              return !!document.querySelector('.jp-Dialog') || (name && status
                && name.textContent.trim() && name.textContent.trim() !== 'No Kernel'
                && status.getAttribute('data-status') === 'idle');
            }""",
            timeout=LOAD_TIMEOUT,
        )

    def menu(self, *path: str) -> None:
        """Click through the menu bar, e.g. ``menu("Run", "Run All Cells")``."""
        self.page.locator(".lm-MenuBar-itemLabel").filter(has_text=_exactly(path[0])).click()
        for item in path[1:]:
            self.page.locator(".lm-Menu-itemLabel").filter(
                has_text=_exactly(item)).first.click()

    def run_all(self, timeout: float = RUN_TIMEOUT) -> None:
        """Run > Run All Cells, then wait until every code cell has run and the kernel is idle.

        Fails with the first error output as soon as a cell raises (Run All stops there, so
        the later cells would never get their number).
        """
        self.menu("Run", "Run All Cells")
        self.page.wait_for_function(
            """([selector, traceback]) => {
              const prompts = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')];
              const raised = [...document.querySelectorAll(selector)].some(e => e.textContent.includes(traceback));
              if (raised || document.querySelector('.jp-Dialog')) return true;
              return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
            }""",
            arg=[STDERR_OUTPUT, TRACEBACK],
            timeout=timeout,
        )
        dialog = self.kernel_dialog()
        assert dialog is None, f"a dialog opened while running the notebook: {dialog}"
        error = self.page.locator(STDERR_OUTPUT).filter(has_text=TRACEBACK)
        if error.count():
            raise AssertionError(f"a cell raised:\n{error.first.inner_text()[-3000:]}")
        self.wait_for_kernel_idle()

    def output_with(self, label: str) -> Surface:
        """The output area of the cell that displays the control labelled ``label``."""
        area = self.root.locator(".jp-OutputArea").filter(
            has=self.page.locator(".widget-label, .widget-label-basic, button").filter(
                has_text=_exactly(label)))
        area.first.wait_for(state="visible", timeout=FIND_TIMEOUT)
        area.first.scroll_into_view_if_needed()
        return Surface(self.page, area.first)


class VoilaApp(Surface):
    """A notebook rendered as an app by Voila (widgets and outputs only, no code)."""

    def __init__(self, page: Page, url: str):
        page.goto(url, timeout=LOAD_TIMEOUT)
        body = page.locator("body")
        super().__init__(page, body)
        # Voila 0.5 renders progressively and removes its loading spinner at the end.
        page.wait_for_function(
            "() => document.querySelector('.jp-OutputArea') && !document.querySelector('#loading')",
            timeout=RUN_TIMEOUT)
