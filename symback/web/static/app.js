// symback serve: the page. Reads the form (or the URL's query string), posts it to
// /api/grad and shows the answer. No framework, no network beyond this server.
"use strict";

const EXAMPLES = [
  {label: "E1 chain rule", expr: "3*(a + b*c)", wrt: "a b c"},
  {label: "E2 logistic loss", expr: "-(y*log(sigmoid(z)) + (1 - y)*log(1 - sigmoid(z)))",
   wrt: "z"},
  {label: "E3 sum(σ(XW))", expr: "sum(sigmoid(X @ W))", shapes: "X=n,3 W=3,2", wrt: "X W"},
  {label: "E4 least squares", expr: "sum((X @ W - y)**2) / 2", shapes: "X=n,3 W=3,1 y=n,1",
   wrt: "W"},
  {label: "E6 ReLU MLP", expr: "-mean(sum(Y * log_softmax(relu(X @ W1) @ W2), axis=1))"
   + " + lam*(sum(W1**2) + sum(W2**2))", shapes: "X=m,4 Y=m,3 W1=4,5 W2=5,3",
   wrt: "W2", onehot: "Y", named: false},
  {label: "E7 neuron", expr: "(sigmoid(sum(W @ X) + theta) - y)**2", shapes: "W=1,2 X=2,1",
   wrt: "W X theta"},
  {label: "Hessian", expr: "sum(softplus(X @ w) - y * (X @ w))", shapes: "X=m,n w=n y=m",
   wrt: "w", mode: "hessian"},
];

const FIELDS = ["expr", "shapes", "wrt", "onehot", "mode", "max_steps"];
const FLAGS = {named: false, check: true};
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function tex(latex, display) {
  const span = el("span", {class: display ? "math display" : "math inline"});
  if (window.katex) {
    try {
      window.katex.render(latex, span, {displayMode: !!display, throwOnError: false,
                                        strict: "ignore", maxSize: 50, maxExpand: 2000});
      return span;
    } catch (err) { /* fall through: show the LaTeX source */ }
  }
  span.textContent = latex;
  return span;
}

function formState() {
  const s = {};
  for (const f of FIELDS) s[f] = $(f).value.trim();
  for (const f of Object.keys(FLAGS)) s[f] = $(f).checked;
  return s;
}

function setForm(s) {
  for (const f of FIELDS) if (s[f] !== undefined) $(f).value = s[f];
  for (const [f, d] of Object.entries(FLAGS)) $(f).checked = s[f] === undefined ? d : !!s[f];
}

function toQuery(s) {
  const q = new URLSearchParams();
  for (const f of FIELDS) if (s[f]) q.set(f, s[f]);
  for (const [f, d] of Object.entries(FLAGS)) if (s[f] !== d) q.set(f, s[f] ? "1" : "0");
  return q.toString();
}

function fromQuery(search) {
  const q = new URLSearchParams(search);
  const s = {};
  for (const f of FIELDS) if (q.has(f)) s[f] = q.get(f);
  for (const f of Object.keys(FLAGS)) if (q.has(f)) s[f] = q.get(f) === "1";
  return s;
}

function request(s) {
  const names = (t) => t.split(/[\s,]+/).filter(Boolean);
  const body = {expr: s.expr, shapes: s.shapes, wrt: names(s.wrt), onehot: names(s.onehot),
                mode: s.mode || "grad", named: s.named, check: s.check};
  if (s.max_steps !== "" && s.max_steps !== undefined) body.max_steps = Number(s.max_steps);
  return body;
}

function clearErrors() {
  for (const id of ["expr", "shapes", "wrt", "onehot", "request"]) {
    const box = $(id + "-error");
    box.hidden = true;
    box.textContent = "";
    if ($(id)) $(id).classList.remove("invalid");
  }
}

function showError(body, status, text) {
  const field = body.field && $(body.field + "-error") ? body.field
    : (body.position !== undefined && body.position !== null) ? "expr" : "request";
  const box = $(field + "-error");
  box.append(el("div", {class: "msg"}, body.error || ("error " + status)));
  if (field === "expr" && typeof body.position === "number") {
    const pos = Math.max(0, Math.min(body.position, text.length));
    const start = Math.max(0, pos - 60);
    const line = text.slice(start, start + 120).replace(/\n/g, " ");
    box.append(el("pre", {class: "caret-line"}, line + "\n",
                  el("span", {class: "caret", "data-position": String(pos)},
                     " ".repeat(pos - start) + "^")));
    $("expr").classList.add("invalid");
    try { $("expr").setSelectionRange(pos, Math.min(pos + 1, text.length)); } catch (e) { }
  } else if ($(field)) {
    $(field).classList.add("invalid");
  }
  box.hidden = false;
}

function fmt(x) {
  if (typeof x === "number") return Math.abs(x) >= 1e-3 && Math.abs(x) < 1e5
    ? x.toPrecision(8).replace(/\.?0+$/, "") : x.toExponential(3);
  if (Array.isArray(x)) return "[" + x.map(fmt).join(", ") + (x.length >= 4 ? ", …" : "") + "]";
  return String(x);
}

function showResult(r) {
  const outName = r.output;
  const ex = $("expression");
  ex.replaceChildren(tex(equation(latexName(outName), r.expr.latex), true));
  const box = $("gradients");
  box.replaceChildren();
  for (const g of r.gradients) {
    const shape = g.shape.length ? g.shape.join("×") : "scalar";
    box.append(el("div", {class: "gradient", "data-wrt": g.wrt},
      el("div", {class: "grad-latex"}, tex(equation(g.label_latex, g.latex), true)),
      el("code", {class: "text grad-text"}, g.label + " = " + g.text),
      el("div", {class: "meta"}, "shape " + shape)));
  }
  // numerical check
  const ck = $("check-result");
  ck.replaceChildren();
  if (!r.check) {
    ck.append(el("p", {class: "hint"}, "not run (turn on “numerical check”)"));
  } else if (!r.check.ran) {
    ck.append(el("p", {class: "hint"}, r.check.note));
  } else {
    const sizes = Object.entries(r.check.sizes).map(([k, v]) => k + " = " + v).join(", ");
    ck.append(el("p", {}, el("span", {class: r.check.passed ? "pass" : "fail"},
      r.check.passed ? "✓ agrees with finite differences" : "✗ differs from finite differences"),
      " — random " + (r.check.points === "normal" ? "normal" : "positive") + " values"
      + (sizes ? ", " + sizes : "") + ", seed " + r.check.seed + "."));
    const t = el("table", {class: "check"}, el("tr", {}, el("th", {}, "variable"),
      el("th", {}, "entry"), el("th", {}, "symbolic"), el("th", {}, "finite difference"),
      el("th", {}, "max rel. error")));
    for (const res of r.check.results) {
      const p = res.probes[0] || {index: [], symbolic: "", finite_difference: ""};
      t.append(el("tr", {}, el("td", {}, res.wrt), el("td", {}, "[" + p.index.join(", ") + "]"),
        el("td", {}, fmt(p.symbolic)), el("td", {}, fmt(p.finite_difference)),
        el("td", {class: res.passed ? "pass" : "fail"}, res.max_error.toExponential(1))));
    }
    ck.append(t);
  }
  // steps
  const st = $("steps");
  st.replaceChildren();
  if (r.steps_rows) {
    const rows = r.steps_rows;
    const fwd = el("table", {class: "forward-table"},
      el("tr", {}, el("th", {}, "name"), el("th", {}, "definition")));
    rows.forward.forEach((f, k) => {
      if (rows.forward_cut && rows.forward_cut[0] === k)
        fwd.append(el("tr", {}, el("td", {class: "cut", colspan: "2"},
                                   "… " + rows.forward_cut[1] + " more forward nodes")));
      fwd.append(el("tr", {class: "forward-row"}, el("td", {}, tex(f.name_latex)),
                    el("td", {}, tex(f.latex))));
    });
    const bwd = el("table", {id: "steps-table"},
      el("tr", {}, el("th", {}, "#"), el("th", {}, "entry"), el("th", {}, "chain rule"),
         el("th", {}, "expression"), el("th", {}, "shape")));
    rows.entries.forEach((e, k) => {
      if (rows.entries_cut && rows.entries_cut[0] === k)
        bwd.append(el("tr", {}, el("td", {class: "cut", colspan: "5"},
                                   "… " + rows.entries_cut[1] + " more steps")));
      bwd.append(el("tr", {class: "step-row"}, el("td", {class: "num"}, k + 1),
        el("td", {}, tex(e.label_latex)), el("td", {}, e.rule_latex ? tex(e.rule_latex) : ""),
        el("td", {}, tex(e.total_latex)), el("td", {class: "hint"}, e.shape)));
    });
    if (rows.entries_cut && rows.entries_cut[0] === rows.entries.length)
      bwd.append(el("tr", {}, el("td", {class: "cut", colspan: "5"},
                                 "… " + rows.entries_cut[1] + " more steps")));
    st.append(el("h3", {}, "Forward"), el("div", {class: "steps-wrap"}, fwd),
              el("h3", {}, "Backward (the grad table, in the order the reverse pass fills it)"),
              el("div", {class: "steps-wrap"}, bwd));
  } else {
    st.append(el("p", {class: "hint"}, "no steps for a non-scalar expression"));
  }
  // graph: SVG drawn by the server from the graph (labels escaped there)
  const parsed = new DOMParser().parseFromString(r.graph_svg || "<svg/>", "image/svg+xml");
  const svg = parsed.documentElement;
  for (const s of svg.querySelectorAll("script, foreignObject")) s.remove();
  $("graph").replaceChildren(document.importNode(svg, true));
  $("source").textContent = r.source;
  $("results").hidden = false;
}

// "label = latex"; a "where" block (named intermediates) gets the label on its first row
function equation(label, latex) {
  const head = "\\begin{aligned}\n& ";
  if (latex.startsWith(head)) return "\\begin{aligned}\n" + label + " &= " + latex.slice(head.length);
  return label + " = " + latex;
}

function latexName(name) {
  return /^[A-Za-z]$/.test(name) ? name : "\\mathit{" + name + "}";
}

let inflight = null;

async function run(s, push) {
  clearErrors();
  if (!s.expr) return;
  const query = toQuery(s);
  if (push) history.replaceState(null, "", query ? "?" + query : location.pathname);
  $("permalink").href = "?" + query;
  if (inflight) inflight.abort();
  const ctrl = new AbortController();
  inflight = ctrl;
  $("status").textContent = "working…";
  const t0 = performance.now();
  let resp, body;
  try {
    resp = await fetch("/api/grad", {method: "POST", signal: ctrl.signal,
      headers: {"Content-Type": "application/json"}, body: JSON.stringify(request(s))});
    body = await resp.json();
  } catch (err) {
    if (err.name === "AbortError") return;
    $("status").textContent = "";
    showError({error: "no answer from the server: " + err}, 0, s.expr);
    return;
  }
  if (inflight !== ctrl) return;
  inflight = null;
  const ms = Math.round(performance.now() - t0);
  if (resp.ok) {
    showResult(body);
    $("status").textContent = "done in " + ms + " ms";
    document.body.dataset.state = "done";
  } else {
    $("status").textContent = "";
    $("results").hidden = true;  // no stale result under an error
    showError(body, resp.status, s.expr);
    document.body.dataset.state = "error";
  }
}

function init() {
  const ex = $("examples");
  for (const e of EXAMPLES) {
    const b = el("button", {type: "button", class: "example"}, e.label);
    b.addEventListener("click", () => {
      const s = {expr: e.expr, shapes: e.shapes || "", wrt: e.wrt || "", onehot: e.onehot || "",
                 mode: e.mode || "grad", max_steps: $("max_steps").value || "60",
                 named: !!e.named, check: true};
      setForm(s);
      run(s, true);
    });
    ex.append(b);
  }
  $("form").addEventListener("submit", (ev) => { ev.preventDefault(); run(formState(), true); });
  $("copy").addEventListener("click", async () => {
    const text = $("source").textContent;
    try {
      await navigator.clipboard.writeText(text);
    } catch (err) {
      const r = document.createRange();
      r.selectNodeContents($("source"));
      const sel = getSelection();
      sel.removeAllRanges();
      sel.addRange(r);
      document.execCommand("copy");
    }
    $("copy").textContent = "Copied";
    setTimeout(() => { $("copy").textContent = "Copy"; }, 1500);
  });
  const s = fromQuery(location.search);
  setForm(s);
  if (s.expr) run(formState(), false);
  document.body.dataset.ready = "1";
}

document.addEventListener("DOMContentLoaded", init);
