"""The drawing pad's pointer: a small widget (anywidget) laid over the canvas that sends the kernel every point of a
stroke, in batches, and draws the stroke in the page until the kernel has painted it.

A pointer reports its position 60 times a second or more. Sent one message each, the moves would cost a classroom's
server more than the drawing; thinned by a throttle, as ipyevents does, a corner passed between two moves sent is
lost, and quick digits are misread (benchmarks/fast_strokes.py). The page here keeps every point (the pointer's
coalesced ones included, less those within 2 screen pixels of the point before) and sends them together every MOVE_MS:
fewer messages than a throttle, and nothing lost. A stroke's start and its end are sent at once.

Messages to the kernel: {"kind": "down" | "move" | "up", "points": [[x, y], ...]}, x and y as fractions of the pad's
width and height (the page may show it scaled down), and with "up" the stroke's number, "stroke": n, which the kernel
sends back ({"drawn": n}) once it has painted the stroke. Values come from the page, so the kernel checks them all.
"""

import anywidget
import traitlets

# The page sends a stroke's new points at most this often: 4 messages a second while drawing. The kernel only keeps
# them until the stroke ends (it paints and reads then), and every message costs the server and the kernel about
# 1.5 ms of CPU each: at 40 ms (25 a second) the points took about a third of the CPU of a class drawing at once.
MOVE_MS = 250
# A stroke not painted by the kernel within this is taken for a lost connection (8 Chromium pages drawing at once on
# 2 cores waited 0.37 s at p95 for their reading, benchmarks/RESULTS.md)
LOST_MS = 10_000

# One pointer at a time (a second finger is ignored); only the primary button draws. A stroke ends where the pointer
# leaves the pad (pointer capture brings the move that leaves it, for a mouse as for a finger). The page draws each
# stroke itself as the pointer moves, on a canvas of its own over the kernel's, until the kernel says it has painted
# it ({"drawn": n} for stroke n): ink shows at once, whatever the server's load, and the kernel paints a stroke once.
ESM = """
export default {
  render({ model, el }) {
    const ink = document.createElement("canvas");
    el.appendChild(ink);
    const pen = ink.getContext("2d");
    const strokes = [];  // {n, width, line: [[x, y], ...] in the pad's pixels}: drawn here, not yet by the kernel
    let id = null, points = [], last = null, timer = null, count = 0, current = null;
    // No {"drawn": n} within LOST_MS of a stroke's end, or a message that cannot be sent: the kernel is gone (its
    // server died or restarted) or stuck. Say so over the pad rather than leave a page that looks alive; the notice
    // goes if the answer comes after all.
    const lost = document.createElement("div");
    lost.className = "digit-lost";
    lost.setAttribute("role", "alert");
    lost.innerHTML = "<p>Connection to the server lost: nothing you draw is read.</p><button>Reload the page</button>";
    lost.querySelector("button").addEventListener("click", () => window.location.reload());
    lost.addEventListener("pointerdown", (e) => e.stopPropagation());  // a click here is not a stroke
    let waiting = null;
    const send = (kind, more) => {
      try {
        model.send({ kind, points, ...more });
      } catch (error) {
        el.appendChild(lost);
      }
      points = [];
    };
    const dot = ([x, y], width) => { pen.beginPath(); pen.arc(x, y, width / 2, 0, 2 * Math.PI); pen.fill(); };
    const line = (a, b, width) => {
      pen.lineWidth = width;
      pen.beginPath();
      pen.moveTo(...a);
      pen.lineTo(...b);
      pen.stroke();
    };
    const show = () => {
      const box = el.getBoundingClientRect(), scale = window.devicePixelRatio || 1;
      ink.width = Math.round(box.width * scale);
      ink.height = Math.round(box.height * scale);
      pen.setTransform(scale, 0, 0, scale, 0, 0);
      pen.lineCap = pen.lineJoin = "round";
      for (const s of strokes) {
        dot(s.line[0], s.width);
        s.line.forEach((p, i) => i && line(s.line[i - 1], p, s.width));
      }
    };
    const add = (e) => {
      const box = el.getBoundingClientRect();
      const x = e.clientX - box.left, y = e.clientY - box.top;
      if (!last || Math.hypot(x - last[0], y - last[1]) >= 2) {
        points.push([x / box.width, y / box.height]);
        if (last) line(last, [x, y], current.width);
        current.line.push([x, y]);
        last = [x, y];
      }
      return x >= 0 && y >= 0 && x <= box.width && y <= box.height;  // still on the pad
    };
    const end = (e) => {
      if (e.pointerId !== id) return;
      if (e.type === "pointerup") add(e);
      clearInterval(timer);
      id = null;
      clearTimeout(waiting);
      waiting = setTimeout(() => el.appendChild(lost), model.get("lost_ms"));
      send("up", { stroke: count });
    };
    el.addEventListener("pointerdown", (e) => {
      if (id !== null || e.button !== 0) return;
      e.preventDefault();
      id = e.pointerId;
      el.setPointerCapture(id);
      count += 1;
      show();  // the strokes still drawn here, at the pad's size now
      current = { n: count, width: model.get("pen") * el.getBoundingClientRect().width, line: [] };
      strokes.push(current);
      last = null;
      add(e);
      dot(last, current.width);
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
    model.on("msg:custom", (msg) => {
      if (typeof msg.drawn !== "number") return;
      if (msg.drawn >= count) clearTimeout(waiting);
      lost.remove();
      while (strokes.length && strokes[0].n <= msg.drawn) strokes.shift();
      show();
    });
    return () => clearInterval(timer);
  },
};
"""

CSS = """
.digit-surface { position: relative; width: 100%; height: 100%; touch-action: none; user-select: none;
  cursor: crosshair; }
.digit-surface canvas { position: absolute; inset: 0; width: 100%; height: 100%; }
.digit-lost { position: absolute; inset: 0; display: flex; flex-direction: column; align-items: center;
  justify-content: center; gap: 0.5em; background: rgba(255, 255, 255, 0.92); color: #8a1c1c; font-size: 1.1em;
  cursor: default; text-align: center; }
"""


class Pad(anywidget.AnyWidget):
    """A transparent surface that sends the pointer's strokes to the kernel (`on_msg(callback)` receives them) and
    draws each until the kernel sends {"drawn": n}."""

    _esm = ESM
    _css = CSS
    wait = traitlets.Int(MOVE_MS).tag(sync=True)  # ms between a stroke's batches of points
    pen = traitlets.Float(0.03).tag(sync=True)  # the ink's width, as a fraction of the pad's width
    lost_ms = traitlets.Int(LOST_MS).tag(sync=True)  # no answer to a stroke within this: "connection lost"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.add_class("digit-surface")
