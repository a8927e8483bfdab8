"""The dashboard's accessibility, where ipywidgets gives no handle: a hidden widget (anywidget) that sets ARIA
attributes and the pictures' alt texts on the app's own elements in the page, and keeps them set as the widgets
render and re-render.

ipywidgets writes no aria-label on a slider's handle and no aria-live on an HTML widget; ipycanvas makes its canvas
focusable and swallows every key pressed there, Tab included, so a keyboard user who tabs onto it is trapped. The
dashboard draws through the pad laid over the canvas (digitlib.apps.pad), so the canvas leaves the tab order.
"""

import anywidget
import traitlets

from digitlib.apps.dashboard_view import HEAT, SEEN

# CSS selector (within the app) -> the attributes its elements get
ATTRIBUTES = {
    ".digit-canvas": {"tabindex": "-1", "role": "img", "aria-label": "The drawing"},
    ".digit-pen .noUi-handle": {"aria-label": "Pen width"},
    ".digit-pen .widget-readout": {"role": "textbox", "aria-label": "Pen width"},
    ".digit-seen": {"alt": SEEN[1]},
    ".digit-heat": {"alt": HEAT[1]},
    ".digit-prediction": {"aria-live": "polite", "aria-label": "The digit read"},
    ".digit-status": {"aria-live": "polite", "role": "status"},
}

# The app's other widgets render after this one, and re-render their insides as they change: a MutationObserver
# sets the attributes again whenever elements are added (setting attributes adds none, so it does not loop).
ESM = """
export default {
  render({ model, el }) {
    const apply = (app) => {
      for (const [selector, attributes] of Object.entries(model.get("attributes")))
        for (const node of app.querySelectorAll(selector))
          for (const [name, value] of Object.entries(attributes))
            if (node.getAttribute(name) !== value) node.setAttribute(name, value);
    };
    let observer = null;
    const watch = () => {
      const app = el.closest(".digit-app");
      if (!app) return requestAnimationFrame(watch);  // not in the page yet
      observer = new MutationObserver(() => apply(app));
      observer.observe(app, { childList: true, subtree: true });
      apply(app);
    };
    watch();
    return () => observer && observer.disconnect();
  },
};
"""


class Access(anywidget.AnyWidget):
    """Sets ATTRIBUTES on the elements of the app it is placed in (an element with the class digit-app); shows
    nothing."""

    _esm = ESM
    attributes = traitlets.Dict(ATTRIBUTES).tag(sync=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.layout.display = "none"
