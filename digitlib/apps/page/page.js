// The drawing page: strokes drawn here, the picture posted to the API's /predict, the reading shown.
// No build step and nothing from another server: this file, page.css and index.html are all it loads.
"use strict";

const $ = (id) => document.getElementById(id);
const REPLY_MS = 15000; // a reading takes milliseconds: no reply by then is a server in trouble, said as one line
const state = {
  settings: null, // page/settings.json: canvas size, pen widths, the "not sure" threshold, the texts
  strokes: [], // [{width, points: [[x, y], ...]}] in canvas pixels
  stroke: null, // the stroke being drawn
  picture: null, // an uploaded picture shown on the canvas, or null
  asked: 0, // the number of the last reading asked for: an older answer is dropped
};

// --- wording: digitlib.reading.answers, the same rule and words -----------------------------------------------

function percent(p) {
  return (Math.min(Math.floor(p * 1000), 999) / 10).toFixed(1) + "%";
}

function ranked(probs) {
  return probs.map((p, d) => d).sort((a, b) => probs[b] - probs[a] || a - b);
}

function verdict(probs) {
  const top = ranked(probs);
  return probs[top[0]] < state.settings.unsure ? `not sure: ${top[0]} or ${top[1]}?` : `${percent(probs[top[0]])} sure`;
}

const capitalized = (text) => text.charAt(0).toUpperCase() + text.slice(1);

// --- drawing ----------------------------------------------------------------------------------------------------

function paint(context, strokes) {
  context.strokeStyle = context.fillStyle = "black";
  context.lineCap = context.lineJoin = "round";
  for (const { width, points } of strokes) {
    context.lineWidth = width;
    context.beginPath();
    context.moveTo(...points[0]);
    for (const point of points.slice(1)) context.lineTo(...point);
    if (points.length === 1) context.lineTo(...points[0]);
    context.stroke();
  }
}

function fitted(picture, width, height) {
  const scale = Math.min(1, width / picture.width, height / picture.height);
  const w = picture.width * scale, h = picture.height * scale;
  return [(width - w) / 2, (height - h) / 2, w, h];
}

function redraw() {
  const pad = $("pad"), context = pad.getContext("2d");
  context.fillStyle = "white";
  context.fillRect(0, 0, pad.width, pad.height);
  if (state.picture) context.drawImage(state.picture, ...fitted(state.picture, pad.width, pad.height));
  paint(context, state.strokes);
}

function canvasPoint(event) {
  const pad = $("pad"), box = pad.getBoundingClientRect();
  const x = ((event.clientX - box.left) / box.width) * pad.width;
  const y = ((event.clientY - box.top) / box.height) * pad.height;
  return [Math.min(Math.max(x, 0), pad.width), Math.min(Math.max(y, 0), pad.height)];
}

function strokeStart(event) {
  if (event.button > 0) return;
  event.preventDefault();
  if (state.picture) state.picture = null; // a stroke after an upload starts a new drawing
  state.stroke = { width: Number($("pen").value), points: [canvasPoint(event)] };
  state.strokes.push(state.stroke);
  redraw();
}

function strokeTo(event) {
  if (!state.stroke) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const e of events.length ? events : [event]) state.stroke.points.push(canvasPoint(e));
  redraw();
}

function strokeEnd(event) {
  if (!state.stroke) return;
  if (event.type !== "pointerleave") state.stroke.points.push(canvasPoint(event));
  state.stroke = null;
  redraw();
  readDrawing();
}

// --- reading ----------------------------------------------------------------------------------------------------

function drawingPng() {
  // black ink on a transparent picture, as digitlib.reading.strokes.render makes it: the ink is its opacity
  const ink = document.createElement("canvas");
  ink.width = $("pad").width;
  ink.height = $("pad").height;
  paint(ink.getContext("2d"), state.strokes);
  return new Promise((resolve) => ink.toBlob(resolve, "image/png"));
}

async function ask(body, name) {
  // {row} or {error}: one line whatever goes wrong, the server down included
  const asked = ++state.asked;
  let reply;
  try {
    reply = await fetch("predict?number=true&input=true", { method: "POST", body, signal: AbortSignal.timeout(REPLY_MS) });
  } catch {
    return { asked, error: state.settings.texts.server_down };
  }
  let answer;
  try {
    answer = await reply.json();
  } catch {
    // not the API's JSON: a proxy's or uvicorn's own page (429 too many requests, 502, 503 busy)
    return { asked, error: `The server is busy or unwell (${reply.status}): draw again in a moment.` };
  }
  if (!reply.ok) return { asked, error: name ? `${name}: ${answer.error}` : answer.error };
  return { asked, row: answer };
}

async function readDrawing() {
  if (!state.strokes.length && !state.picture) return show(null);
  const answer = await ask(await drawingPng(), null);
  if (answer.asked === state.asked) answer.error ? sayError(answer.error) : show(answer.row);
}

async function upload(file) {
  const form = new FormData();
  form.append("image", file, file.name);
  const answer = await ask(form, file.name);
  if (answer.asked !== state.asked) return;
  if (answer.error) return sayError(`${answer.error}. ${state.settings.texts.kept}`);
  try {
    state.picture = await createImageBitmap(file);
  } catch {
    state.picture = null; // read by the server, not shown by this browser (TIFF): the reading still shows
  }
  state.strokes = [];
  redraw();
  show(answer.row);
}

// --- showing ----------------------------------------------------------------------------------------------------

function sayError(text) {
  $("status").textContent = text;
  $("status").classList.add("error");
}

function say(text) {
  $("status").textContent = text;
  $("status").classList.remove("error");
}

function show(row) {
  const digits = row ? row.digits : [];
  const drawn = state.strokes.length > 0 || state.picture !== null;
  const texts = state.settings.texts;
  $("digit").hidden = $("probabilities").hidden = $("seen").hidden = !digits.length;
  if (!digits.length) return say(row && row.reason ? row.reason : drawn ? texts.not_found : texts.invite);
  $("digit").textContent = row.number;
  // a number's bars are those of its least sure digit: the one worth a look
  const shown = digits.reduce((a, b) => (Math.max(...b.probabilities) < Math.max(...a.probabilities) ? b : a));
  if (digits.length === 1) {
    say(capitalized(verdict(shown.probabilities)));
    $("caption").textContent = "";
  } else {
    say(`${digits.length} digits: ${digits.map((d) => `${d.digit} (${verdict(d.probabilities)})`).join(", ")}.`);
    $("caption").textContent = `For the ${shown.digit}, the least sure digit`;
  }
  showBars(shown.probabilities);
  showInputs(digits);
}

function showBars(probs) {
  const top = new Set(ranked(probs).slice(0, 3));
  $("bars").tBodies[0].replaceChildren(
    ...probs.map((p, d) => {
      const row = document.createElement("tr");
      row.className = top.has(d) ? "top" : "";
      row.insertCell().textContent = d;
      const bar = document.createElement("div");
      bar.className = "bar";
      bar.style.width = `${Math.max(p * 100, 0.5).toFixed(1)}%`;
      row.insertCell().append(bar);
      row.insertCell().textContent = percent(p) + (top.has(d) ? ` (top ${[...top].indexOf(d) + 1})` : "");
      return row;
    }),
  );
}

function showInputs(digits) {
  $("inputs").replaceChildren(
    ...digits.map((d) => {
      const figure = document.createElement("figure"), img = document.createElement("img");
      img.src = d.input;
      img.alt = `The 28 × 28 input the network read as ${d.digit}`;
      const caption = document.createElement("figcaption");
      caption.textContent = d.digit;
      figure.append(img, caption);
      return figure;
    }),
  );
}

// --- wiring -----------------------------------------------------------------------------------------------------

function linkApps() {
  // the dashboard and JupyterLab on this host, at the ports `make dashboard` and `jupyter lab` use
  const host = `${location.protocol}//${location.hostname}`;
  $("dashboard-link").href = `${host}:${state.settings.dashboard_port}/`;
  $("notebooks-link").href = `${host}:${state.settings.notebooks_port}/lab/tree/notebooks`;
}

function wire() {
  const pad = $("pad"), pen = $("pen");
  [pad.width, pad.height] = [state.settings.width, state.settings.height];
  [pen.min, pen.max, pen.value] = [...state.settings.pen_range, state.settings.pen];
  $("pen-width").textContent = pen.value;
  pen.addEventListener("input", () => ($("pen-width").textContent = pen.value));
  pad.addEventListener("pointerdown", strokeStart);
  pad.addEventListener("pointermove", strokeTo);
  for (const end of ["pointerup", "pointercancel", "pointerleave"]) pad.addEventListener(end, strokeEnd);
  $("undo").addEventListener("click", () => {
    state.strokes.pop();
    redraw();
    readDrawing();
  });
  $("clear").addEventListener("click", () => {
    [state.strokes, state.picture] = [[], null];
    state.asked++; // an answer on its way is for a drawing gone
    redraw();
    show(null);
  });
  $("upload").addEventListener("click", () => $("file").click());
  $("file").addEventListener("change", (event) => {
    const [file] = event.target.files;
    event.target.value = ""; // the same file chosen again is read again
    if (file) upload(file);
  });
  linkApps();
  redraw();
  show(null);
}

async function start() {
  try {
    state.settings = await (await fetch("page/settings.json")).json();
  } catch {
    $("status").textContent = "The server does not answer: reload the page once it is running.";
    $("status").classList.add("error");
    return;
  }
  wire();
  document.body.dataset.ready = "true";
}

start();
