"""The drawing pad's pointer: a small widget (anywidget) laid over the canvas that sends the kernel every point of a
stroke, in batches.

A pointer reports its position 60 times a second or more. Sent one message each, the moves would cost a classroom's
server more than the drawing; thinned by a throttle, as ipyevents does, a corner passed between two moves sent is
lost, and quick digits are misread (benchmarks/fast_strokes.py). The page here keeps every point (the pointer's
coalesced ones included, less those within 2 screen pixels of the point before) and sends them together every MOVE_MS:
as few messages as a throttle, and nothing lost. A stroke's start and its end are sent at once.

Messages to the kernel: {"kind": "down" | "move" | "up", "points": [[x, y], ...]}, x and y as fractions of the pad's
width and height (the page may show it scaled down). Values come from the page, so the kernel checks them all.
"""

import anywidget
import traitlets

MOVE_MS = 40  # the page sends a stroke's new points at most this often: about 25 messages a second while drawing

# One pointer at a time (a second finger is ignored); only the primary button draws. A stroke ends where the pointer
# leaves the pad (pointer capture brings the move that leaves it, for a mouse as for a finger).
ESM = """
export default {
  render({ model, el }) {
    let id = null, points = [], last = null, timer = null;
    const send = (kind) => { model.send({ kind, points }); points = []; };
    const add = (e) => {
      const box = el.getBoundingClientRect();
      const x = e.clientX - box.left, y = e.clientY - box.top;
      if (!last || Math.hypot(x - last[0], y - last[1]) >= 2) {
        points.push([x / box.width, y / box.height]);
        last = [x, y];
      }
      return x >= 0 && y >= 0 && x <= box.width && y <= box.height;  // still on the pad
    };
    const end = (e) => {
      if (e.pointerId !== id) return;
      if (e.type === "pointerup") add(e);
      clearInterval(timer);
      id = null;
      send("up");
    };
    el.addEventListener("pointerdown", (e) => {
      if (id !== null || e.button !== 0) return;
      e.preventDefault();
      id = e.pointerId;
      el.setPointerCapture(id);
      last = null;
      add(e);
      send("down");
      timer = setInterval(() => points.length && send("move"), model.get("wait"));
    });
    el.addEventListener("pointermove", (e) => {
      if (e.pointerId !== id) return;
      const moves = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
      for (const move of moves.length ? moves : [e]) if (!add(move)) return end(e);
    });
    el.addEventListener("pointerup", end);
    el.addEventListener("pointercancel", end);
    el.addEventListener("lostpointercapture", end);
    return () => clearInterval(timer);
  },
};
"""

CSS = """
.digit-surface { width: 100%; height: 100%; touch-action: none; user-select: none; cursor: crosshair; }
"""


class Pad(anywidget.AnyWidget):
    """A transparent surface that sends the pointer's strokes to the kernel; `on_msg(callback)` receives them."""

    _esm = ESM
    _css = CSS
    wait = traitlets.Int(MOVE_MS).tag(sync=True)  # ms between a stroke's batches of points

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.add_class("digit-surface")
